/** One control of the run form, made from the input's schema: text, number, checkbox or file. */
import type { ModuleView } from '../client.js';

type Spec = ModuleView['inputs'][string];

export function InputField(props: {
  name: string;
  spec: Spec;
  value: string;
  onChange: (value: string) => void;
  onFile: (file: File | undefined) => void;
}) {
  const { name, spec, value } = props;
  const id = `input-${name}`;
  const help = (
    <span id={`${id}-help`} class="help">
      {spec.description}
      {spec.maxLength !== undefined && ` At most ${spec.maxLength} characters.`}
      {spec.min !== undefined && ` From ${spec.min}.`}
      {spec.max !== undefined && ` Up to ${spec.max}.`}
    </span>
  );
  if (spec.type === 'boolean') {
    return (
      <div class="field">
        <label class="check" for={id}>
          <input
            id={id}
            type="checkbox"
            checked={value === 'true'}
            aria-describedby={`${id}-help`}
            onChange={(e) => props.onChange(e.currentTarget.checked ? 'true' : 'false')}
          />
          {name}
        </label>
        {help}
      </div>
    );
  }
  return (
    <div class="field">
      <label for={id}>{name}</label>
      {spec.type === 'file' ? (
        <input
          id={id}
          type="file"
          aria-describedby={`${id}-help`}
          onChange={(e) => props.onFile(e.currentTarget.files?.[0])}
        />
      ) : spec.type === 'integer' ? (
        <input
          id={id}
          type="number"
          step={1}
          min={spec.min}
          max={spec.max}
          value={value}
          aria-describedby={`${id}-help`}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      ) : (
        <textarea
          id={id}
          rows={Math.min(6, Math.max(2, Math.ceil((spec.maxLength ?? 200) / 200)))}
          maxLength={spec.maxLength}
          value={value}
          aria-describedby={`${id}-help`}
          onInput={(e) => props.onChange(e.currentTarget.value)}
        />
      )}
      {help}
    </div>
  );
}

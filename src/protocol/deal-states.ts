/** On-chain deal states, in the order of the contract's `DealState` enum. */
export const DealState = {
  None: 0,
  Agreed: 1,
  ResultsSubmitted: 2,
  Accepted: 3,
  TimedOutSubmit: 4,
  Challenged: 5,
  MediationAccepted: 6,
  MediationRejected: 7,
  TimedOutMediate: 8,
} as const;
export type DealState = (typeof DealState)[keyof typeof DealState];

export const dealStateName = (state: number): string =>
  Object.entries(DealState).find(([, value]) => value === state)?.[0] ?? `Unknown(${state})`;

export const isFinal = (state: number): boolean =>
  state === DealState.Accepted ||
  state === DealState.TimedOutSubmit ||
  state === DealState.MediationAccepted ||
  state === DealState.MediationRejected ||
  state === DealState.TimedOutMediate;

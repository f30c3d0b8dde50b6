// image-edit: a PNG or baseline JPEG file input in (its path, /inputs/Image, is the first argument), one
// operation (grayscale, invert, flip, blur, resize), /outputs/output.png out, and a one-line summary on stdout.
import '../../lib/abort';
import { Image } from '../../lib/image';
import { commandArgs, fail, fileInputPath, print, readFile, writeFile } from '../../lib/io';
import { decodeJpeg, jpegError } from '../../lib/jpeg-decode';
import { decodePng, pngError } from '../../lib/png-decode';
import { encodePng } from '../../lib/png-encode';
import { resize } from '../../lib/resize';
import { blur, flip, grayscale, invert } from './filters';

const args = commandArgs();
if (args.length !== 5) fail('usage: image-edit IMAGE OPERATION WIDTH HEIGHT RADIUS');
const path = fileInputPath(args[0], 'pass the image as -i Image=@photo.png');
const operation = args[1];
const data = readFile(path);
if (data === null) fail(`cannot read ${path}: pass the PNG or JPEG as -i Image=@photo.png`);
const bytes = <Uint8Array>data;
// JPEG files start with their SOI marker, FF D8; anything else is read as a PNG (which says if it is not).
const jpeg = bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8;
const decoded = jpeg ? decodeJpeg(bytes) : decodePng(bytes);
if (decoded === null) fail(`${path}: ${jpeg ? jpegError : pngError}`);
const image = <Image>decoded;

let result: Image = image;
if (operation === 'grayscale') result = grayscale(image);
else if (operation === 'invert') result = invert(image);
else if (operation === 'flip') result = flip(image);
else if (operation === 'blur') result = blur(image, I32.parseInt(args[4]));
else if (operation === 'resize') {
  let width = I32.parseInt(args[2]);
  let height = I32.parseInt(args[3]);
  if (width === 0 && height === 0) fail('resize needs Width or Height (the other keeps the aspect ratio)');
  // A missing side keeps the aspect ratio, rounded, at least 1.
  if (width === 0) width = max(1, <i32>Math.round((<f64>image.width * <f64>height) / <f64>image.height));
  if (height === 0) height = max(1, <i32>Math.round((<f64>image.height * <f64>width) / <f64>image.width));
  result = resize(image, width, height);
} else fail(`unknown operation "${operation}" (grayscale, invert, flip, blur, resize)`);

if (!writeFile('/outputs/output.png', encodePng(result))) fail('cannot write /outputs/output.png');
const size = (i: Image): string => `${i.width.toString()}x${i.height.toString()}`;
print(`${operation}: ${size(image)} -> ${size(result)}\n`);

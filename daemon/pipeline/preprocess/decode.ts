/**
 * JPEG/PNG → 8-bit interleaved RGB through sharp (libjpeg-turbo), the only decode step of the
 * face stage. Any alpha is dropped and greyscale or CMYK inputs are converted to sRGB so that
 * every consumer can rely on exactly three channels.
 */
import sharp from 'sharp';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { RgbImage } from './bilinear.js';

/**
 * libvips threads per image operation (sharp's own default: one per core). A decode to raw RGB is
 * libjpeg's sequential scan with nothing after it to run in parallel, so the extra threads only
 * hand rows to each other: paced as the camera is (a frame, then idle), one thread used 2.65–2.77
 * ms of CPU a 640×480 frame against 2.95–2.99 ms with two, on the 2-core benchmark VM. Process-wide
 * (sharp has no per-call setting); fixture making (recording/make.ts) resizes once, and does not
 * care.
 */
export const DECODE_THREADS = 1;
sharp.concurrency(DECODE_THREADS);

/**
 * Decode an encoded image. Undecodable bytes are `E_IMAGE_DECODE` naming `where` (the camera
 * topic, a file) so the stage can count the bad frame and move on.
 *
 * `maxPixels` bounds width × height as the image's header declares it, checked by libvips before
 * any pixel is decoded: a 1.5 MB JPEG whose header says 16000×16000 would otherwise become a
 * 768 MB RGB buffer (libjpeg fills the missing data with grey, a warning, not an error).
 */
export async function decodeRgb(
  encoded: Buffer | Uint8Array,
  where: string,
  maxPixels?: number,
): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(encoded, {
      failOn: 'error',
      ...(maxPixels === undefined ? {} : { limitInputPixels: maxPixels }),
    })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    throw new EdgeloomError(ErrorCode.E_IMAGE_DECODE, `cannot decode image: ${(err as Error).message}`, {
      where,
      cause: err,
    });
  }
}

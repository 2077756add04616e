/**
 * Camera frames for the bundled fixtures: 640x480 JPEGs cut from two scikit-image sample photos
 * with synthetic camera motion (pan, zoom, a lighting change). The face of the astronaut image
 * sits at about x 165..285, y 20..180 of the 512x512 source; every astronaut crop below keeps that
 * box inside the frame, so the truth "face visible" holds by construction.
 */
import sharp from 'sharp';

export const SKIMAGE_DATA = '/usr/lib/python3/dist-packages/skimage/data';
export const ASTRONAUT = `${SKIMAGE_DATA}/astronaut.png`;
export const COFFEE = `${SKIMAGE_DATA}/coffee.png`;
export const FRAME_WIDTH = 640;
export const FRAME_HEIGHT = 480;
export const JPEG_QUALITY = 80;

/** Source face box in astronaut.png (x0, y0, x1, y1), measured by eye on a 64 px grid. */
export const ASTRONAUT_FACE_BOX = [165, 20, 285, 180] as const;

export interface Shot {
  readonly source: string;
  /** Crop in source pixels (4:3). */
  readonly left: number;
  readonly top: number;
  readonly width: number;
  /** Brightness multiplier (1 = unchanged): the lighting change. */
  readonly brightness: number;
  readonly face: boolean;
}

export async function renderShot(s: Shot): Promise<Buffer> {
  const height = Math.round((s.width * 3) / 4);
  return sharp(s.source)
    .extract({ left: Math.round(s.left), top: Math.round(s.top), width: Math.round(s.width), height })
    .resize(FRAME_WIDTH, FRAME_HEIGHT)
    .modulate({ brightness: s.brightness })
    .jpeg({ quality: JPEG_QUALITY })
    .toBuffer();
}

const lerp = (a: number, b: number, u: number): number => a + (b - a) * u;

/** `n` astronaut shots: a pan, then a zoom onto the face, then the light dimming and coming back. */
export function astronautMotion(n: number): Shot[] {
  const shots: Shot[] = [];
  const third = Math.ceil(n / 3);
  for (let i = 0; i < n; i++) {
    const phase = Math.floor(i / third);
    const u = (i % third) / Math.max(1, third - 1);
    if (phase === 0) {
      shots.push({ source: ASTRONAUT, left: lerp(0, 112, u), top: 0, width: 400, brightness: 1, face: true }); // pan
    } else if (phase === 1) {
      const width = lerp(400, 240, u); // zoom, centred on the face
      const height = (width * 3) / 4;
      const left = Math.min(Math.max(225 - width / 2, 0), 512 - width);
      const top = Math.min(Math.max(100 - height / 2, 0), 512 - height);
      shots.push({ source: ASTRONAUT, left, top, width, brightness: 1, face: true });
    } else {
      const brightness = 1 - 0.5 * Math.sin(Math.PI * u); // lights dim to half and back
      shots.push({ source: ASTRONAUT, left: 65, top: 0, width: 320, brightness, face: true });
    }
  }
  return shots;
}

/** `n` coffee shots panning across the 600x400 photo: no face. */
export function coffeePan(n: number): Shot[] {
  return Array.from({ length: n }, (_, i) => ({
    source: COFFEE,
    left: lerp(0, 66, i / Math.max(1, n - 1)),
    top: 0,
    width: 533,
    brightness: 1,
    face: false,
  }));
}

/** `n` astronaut shots with a small hand-held wobble. */
export function astronautHandheld(n: number): Shot[] {
  return Array.from({ length: n }, (_, i) => ({
    source: ASTRONAUT,
    left: 60 + 12 * Math.sin(i * 1.3),
    top: 8 + 6 * Math.cos(i * 0.9),
    width: 360,
    brightness: 1,
    face: true,
  }));
}

/** Collapse per-frame face flags into inclusive frame ranges with their times. */
export function faceRanges(
  shots: readonly Shot[],
  frameIntervalMs: number,
): Array<{ start_frame: number; end_frame: number; start_ms: number; end_ms: number; face: boolean }> {
  const out: Array<{
    start_frame: number;
    end_frame: number;
    start_ms: number;
    end_ms: number;
    face: boolean;
  }> = [];
  shots.forEach((s, i) => {
    const last = out.at(-1);
    if (last !== undefined && last.face === s.face) {
      last.end_frame = i;
      last.end_ms = i * frameIntervalMs;
    } else {
      out.push({
        start_frame: i,
        end_frame: i,
        start_ms: i * frameIntervalMs,
        end_ms: i * frameIntervalMs,
        face: s.face,
      });
    }
  });
  return out;
}

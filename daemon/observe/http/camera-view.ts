/**
 * The dashboard's camera view: the newest frames of each camera, kept so the page can fetch the
 * very frame a face inference analysed (`/api/camera/<id>/frame.jpg?seq=N`) and draw that
 * inference's boxes on it. The page asks once per `inference/face/<id>` event, so the view
 * refreshes at the analysed rate and costs nothing while no page is open beyond holding a few
 * JPEG buffers.
 *
 * `/api/camera/<id>/stream.mjpg` serves the same frames as an MJPEG stream (multipart/x-mixed-replace,
 * what VLC, ffplay and Home Assistant's MJPEG camera read): each frame as it arrives, skipped for a
 * client whose socket is still busy with the previous one (a slow viewer gets fewer frames, never a
 * queue). The dashboard does not use it: it draws the boxes of an inference on the very frame that
 * inference analysed, which a stream of every frame cannot line up (npm run bench -- preview
 * measures the two side by side).
 *
 * Privacy: a frame is shown on the device's own page, at any tier (a `local_only` camera may be
 * seen locally; nothing here sends it anywhere else). The HTTP server serves this route only on
 * loopback or behind its token, like every other data route.
 */
import type { ServerResponse } from 'node:http';
import type { CameraFrame } from '../../bus/topics.js';
import type { EventBus, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';

export interface CameraViewOptions {
  readonly bus: EventBus;
  /** Cameras tracked; frames of further cameras are not kept (counted). Default 8. */
  readonly maxCameras?: number;
  /**
   * Frames kept per camera, newest first out: the face stage analyses a frame a few frames after
   * it was captured under load, so the page can still fetch the analysed one. Default 8.
   */
  readonly framesPerCamera?: number;
  /** MJPEG stream clients at once, all cameras together; more are refused (503). Default 4. */
  readonly maxStreams?: number;
}

export interface CameraViewStats {
  readonly cameras: number;
  /** Frames served by their exact sequence number. */
  readonly served: number;
  /** Requests for a sequence number no longer kept: the newest frame was served instead. */
  readonly stale: number;
  /** Frames of cameras past maxCameras, not kept. */
  readonly refused: number;
  /** MJPEG stream clients now. */
  readonly streams: number;
  /** Frames written to stream clients, and skipped because a client was still busy. */
  readonly streamed: number;
  readonly streamSkipped: number;
}

/** The multipart boundary of the MJPEG stream. */
const BOUNDARY = 'edgeloomframe';

/** A camera id as the sensor config allows it (also keeps the route's path segment harmless). */
const CAMERA_ID = /^[A-Za-z0-9_-]{1,64}$/;

export class CameraView implements Component {
  readonly name = 'http.camera-view';
  /** Per camera, its newest frames in arrival order (bounded by framesPerCamera: drop-oldest). */
  private readonly frames = new Map<string, CameraFrame[]>();
  private sub: Subscription | undefined;
  private served = 0;
  private stale = 0;
  private refused = 0;
  /** Per camera, its MJPEG clients (bounded by maxStreams over all cameras: refused past it). */
  private readonly streams = new Map<string, Set<ServerResponse>>();
  private streamCount = 0;
  private streamed = 0;
  private streamSkipped = 0;
  private readonly maxStreams: number;
  private readonly maxCameras: number;
  private readonly framesPerCamera: number;

  constructor(private readonly options: CameraViewOptions) {
    this.maxCameras = options.maxCameras ?? 8;
    this.framesPerCamera = options.framesPerCamera ?? 8;
    this.maxStreams = options.maxStreams ?? 4;
  }

  async start(): Promise<void> {
    this.sub = this.options.bus.subscribe(
      'sensor/camera/+/frame',
      (env) => this.keep(env.topic.split('/')[2]!, env.payload),
      // Keeping a frame is a Map write: a short realtime queue, the oldest dropped when behind.
      { component: this.name, qos: 'realtime', queueCapacity: 4, overflow: { kind: 'drop-oldest' } },
    );
  }

  async stop(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    await sub?.unsubscribe();
    this.frames.clear();
    for (const clients of this.streams.values()) for (const res of clients) res.end();
    this.streams.clear();
    this.streamCount = 0;
  }

  health(): ComponentHealth {
    return { status: 'ok' };
  }

  stats(): CameraViewStats {
    return {
      cameras: this.frames.size,
      served: this.served,
      stale: this.stale,
      refused: this.refused,
      streams: this.streamCount,
      streamed: this.streamed,
      streamSkipped: this.streamSkipped,
    };
  }

  /**
   * Serve camera `id` as an MJPEG stream on `res` (headers not yet sent), starting with its newest
   * frame. False (nothing written) for an id that is not a camera id or when maxStreams are open.
   */
  stream(id: string, res: ServerResponse): boolean {
    if (!CAMERA_ID.test(id) || this.sub === undefined || this.streamCount >= this.maxStreams) return false;
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
      'Cache-Control': 'no-store',
      Connection: 'close',
    });
    // Frames are sent as they come: Nagle would hold the tail of each one back.
    res.socket?.setNoDelay(true);
    let clients = this.streams.get(id);
    if (clients === undefined) {
      clients = new Set();
      this.streams.set(id, clients);
    }
    clients.add(res);
    this.streamCount++;
    const set = clients;
    res.once('close', () => {
      if (set.delete(res)) this.streamCount--;
      if (set.size === 0 && this.streams.get(id) === set) this.streams.delete(id);
    });
    const newest = this.frames.get(id)?.at(-1);
    if (newest !== undefined) this.writePart(res, newest);
    return true;
  }

  private writePart(res: ServerResponse, frame: CameraFrame): void {
    // A client still sending the last frame skips this one: latest-wins, no queue per viewer.
    if (res.writableNeedDrain) {
      this.streamSkipped++;
      return;
    }
    res.write(
      `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.length}\r\nX-Frame-Seq: ${frame.seq}\r\n\r\n`,
    );
    res.write(frame.jpeg);
    res.write('\r\n');
    this.streamed++;
  }

  /** Ids of the cameras that have sent a frame. */
  cameras(): string[] {
    return [...this.frames.keys()];
  }

  /**
   * The frame with sequence number `seq` of camera `id` if still kept, else its newest;
   * undefined for an unknown camera or an id that is not a camera id.
   */
  frame(id: string, seq?: number): CameraFrame | undefined {
    if (!CAMERA_ID.test(id)) return undefined;
    const kept = this.frames.get(id);
    if (kept === undefined || kept.length === 0) return undefined;
    if (seq !== undefined) {
      const exact = kept.find((f) => f.seq === seq);
      if (exact !== undefined) {
        this.served++;
        return exact;
      }
      this.stale++;
    }
    return kept[kept.length - 1];
  }

  private keep(id: string, frame: CameraFrame): void {
    let kept = this.frames.get(id);
    if (kept === undefined) {
      if (this.frames.size >= this.maxCameras || !CAMERA_ID.test(id)) {
        this.refused++;
        return;
      }
      kept = [];
      this.frames.set(id, kept);
    }
    kept.push(frame);
    if (kept.length > this.framesPerCamera) kept.shift();
    const clients = this.streams.get(id);
    if (clients !== undefined) for (const res of clients) this.writePart(res, frame);
  }
}

/**
 * The bus's types follow the topic (bus/patterns.ts, bus/rpc.ts): a subscription's payload comes
 * from its pattern, a request's and an answer's from the RPC map, an agent's publish action pairs
 * topic and payload. The `@ts-expect-error` lines are checked by `npm run typecheck` (which
 * covers test/): if one of them compiled, the directive itself would be the error. (The bus's
 * behaviour is tested in bus-delivery, bus-match, bus-overflow and bus-request.)
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { PublishAction } from '../../daemon/agents/reducer.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { KeyPattern, PayloadMatching } from '../../daemon/bus/patterns.js';
import type { RequestOf, ResponseOf, RpcTopic, SensorPauseAnswer } from '../../daemon/bus/rpc.js';
import type {
  AudioFrame,
  CameraFrame,
  FaceInference,
  ImuEvent,
  SensorStatus,
  SpeechEvent,
  Topic,
  TopicMap,
  Transcript,
  WakeDetection,
} from '../../daemon/bus/topics.js';
import type { EventBus } from '../../daemon/bus/types.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

describe('payload types from patterns', () => {
  it('a `+` level stands for one id; `#` for the rest', () => {
    expectTypeOf<PayloadMatching<TopicMap, 'inference/face/+'>>().toEqualTypeOf<FaceInference>();
    expectTypeOf<PayloadMatching<TopicMap, 'inference/face/cam0'>>().toEqualTypeOf<FaceInference>();
    expectTypeOf<PayloadMatching<TopicMap, 'sensor/camera/+/frame'>>().toEqualTypeOf<CameraFrame>();
    expectTypeOf<PayloadMatching<TopicMap, 'sensor/+/+/status'>>().toEqualTypeOf<SensorStatus>();
    expectTypeOf<PayloadMatching<TopicMap, 'inference/#'>>().toEqualTypeOf<
      SpeechEvent | FaceInference | Transcript | WakeDetection
    >();
    expectTypeOf<PayloadMatching<TopicMap, 'sensor/+/+/frame'>>().toEqualTypeOf<CameraFrame | AudioFrame>();
    expectTypeOf<PayloadMatching<TopicMap, 'sensor/imu/+/window'>>().toEqualTypeOf<ImuEvent>();
    // An id is one level: `inference/face/a/b` is no topic of the map.
    expectTypeOf<PayloadMatching<TopicMap, 'inference/face/a/b'>>().toBeNever();
  });

  it('the maps written as patterns are the keys the topology table uses', () => {
    expectTypeOf<KeyPattern<`sensor/camera/${string}/frame`>>().toEqualTypeOf<'sensor/camera/+/frame'>();
    expectTypeOf<'rpc/sensor/+/pause'>().toExtend<KeyPattern<RpcTopic>>();
    expectTypeOf<'inference/stt/+'>().toExtend<KeyPattern<Topic>>();
  });

  it('subscribe hands the handler the pattern’s payload, and refuses a pattern no topic matches', async () => {
    const bus: EventBus = new Bus({ clock: new VirtualClock(0), logger: silentLogger() });
    bus.subscribe(
      'inference/face/+',
      (env) => {
        expectTypeOf(env.payload).toEqualTypeOf<FaceInference>();
      },
      { component: 't' },
    );
    bus.subscribe(
      'rpc/sensor/+/pause',
      (env) => {
        expectTypeOf(env.payload).toEqualTypeOf<RequestOf<'rpc/sensor/x/pause'>>();
      },
      { component: 't' },
    );
    // @ts-expect-error: no topic of the maps is under `inference/lidar/`
    bus.subscribe('inference/lidar/+', () => undefined, { component: 't' });
    // @ts-expect-error: a face subscriber cannot take a transcript handler
    bus.subscribe('inference/face/+', (env: { payload: Transcript }) => void env, { component: 't' });
    await bus.close(10);
  });

  it('request and respond are typed by the RPC map', () => {
    expectTypeOf<ResponseOf<'rpc/sensor/cam0/pause'>>().toEqualTypeOf<SensorPauseAnswer>();
    const typed = (bus: EventBus): void => {
      // @ts-expect-error: a pause request must name its origin
      void bus.request('rpc/sensor/cam0/pause', { duration_s: 30 });
      const cli = { channel: 'cli', authenticated: true } as const;
      // @ts-expect-error: the duration is a number of seconds
      void bus.request('rpc/sensor/cam0/pause', { duration_s: '30', origin: cli });
      const pausedAnswer = () => ({ sensor: 'cam0', state: 'paused' as const, resumes_in_s: 1 });
      // @ts-expect-error: the answer of a resume is not the answer of a pause
      bus.respond('rpc/sensor/cam0/resume', pausedAnswer, { component: 't' });
      // @ts-expect-error: no such RPC
      void bus.request('rpc/reboot', {});
    };
    void typed;
  });

  it('an agent publish action pairs its topic with that topic’s payload', () => {
    expectTypeOf<Extract<PublishAction, { topic: 'action/display' }>['payload']>().toEqualTypeOf<
      TopicMap['action/display']
    >();
    // @ts-expect-error: a transcript is not what `agent/<id>/intent` carries
    const wrong: PublishAction = { kind: 'publish', topic: 'agent/voice/intent', payload: {} as Transcript };
    void wrong;
  });
});

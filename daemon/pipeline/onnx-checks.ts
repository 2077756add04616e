/**
 * The input and output checks of an ONNX model (onnx-session.ts): declared inputs and outputs
 * exist at load, every input is fed, and every declared output is present with its element type
 * and shape on every run (ricky0123/vad throws when an output is missing; we also check type and
 * shape). Written against the shape of a tensor, so only onnx-session.ts imports ONNX Runtime.
 */
import { EdgeloomError, ErrorCode } from '../errors.js';

/** An output a model promises: name, element type, shape (`null`: any size). */
export interface CheckedOutput {
  readonly name: string;
  readonly type: string;
  readonly dims: readonly (number | null)[];
}

/** What the checks read of a tensor. */
interface TensorShape {
  readonly type: string;
  readonly dims: readonly number[];
}

export class OnnxIoChecks<S extends CheckedOutput> {
  /** Checked fetch lists → the declared outputs among them (weak: lists die with their callers). */
  private readonly fetchChecks = new WeakMap<readonly string[], readonly S[]>();

  constructor(
    private readonly modelId: string,
    private readonly inputNames: readonly string[],
    private readonly outputNames: readonly string[],
    /** The declared outputs, checked on every run without `fetches`. */
    readonly outputs: readonly S[],
  ) {}

  /** At load: the inputs the caller will feed and the declared outputs exist in the model. */
  checkDeclarations(inputs: readonly string[]): void {
    for (const name of inputs) {
      if (!this.inputNames.includes(name)) {
        throw new EdgeloomError(
          ErrorCode.E_ONNX_INPUT,
          `model ${this.modelId}: has no input "${name}" (inputs: ${this.inputNames.join(', ')})`,
          { where: this.modelId },
        );
      }
    }
    for (const spec of this.outputs) {
      if (!this.outputNames.includes(spec.name)) {
        throw new EdgeloomError(
          ErrorCode.E_ONNX_OUTPUT,
          `model ${this.modelId}: has no output "${spec.name}" (outputs: ${this.outputNames.join(', ')})`,
          { where: this.modelId },
        );
      }
    }
  }

  checkFeeds(feeds: Readonly<Record<string, unknown>>): void {
    for (const name of this.inputNames) {
      if (feeds[name] === undefined) {
        throw new EdgeloomError(ErrorCode.E_ONNX_INPUT, `model ${this.modelId}: input "${name}" not fed`, {
          where: this.modelId,
        });
      }
    }
  }

  /**
   * The declared outputs among `fetches`, after checking every name is a model output and none
   * repeats. Cached per fetch list identity, since callers pass the same list on every step.
   */
  checksFor(fetches: readonly string[]): readonly S[] {
    const cached = this.fetchChecks.get(fetches);
    if (cached !== undefined) return cached;
    if (fetches.length === 0) {
      throw new EdgeloomError(ErrorCode.E_ONNX_OUTPUT, `model ${this.modelId}: fetches is empty`, {
        where: this.modelId,
      });
    }
    const seen = new Set<string>();
    for (const name of fetches) {
      if (!this.outputNames.includes(name) || seen.has(name)) {
        throw new EdgeloomError(
          ErrorCode.E_ONNX_OUTPUT,
          `model ${this.modelId}: cannot fetch "${name}" (${seen.has(name) ? 'repeated' : `outputs: ${this.outputNames.join(', ')}`})`,
          { where: this.modelId },
        );
      }
      seen.add(name);
    }
    const checks = this.outputs.filter((spec) => seen.has(spec.name));
    this.fetchChecks.set(fetches, checks);
    return checks;
  }

  checkOutputs(out: Readonly<Record<string, TensorShape>>, checks: readonly S[]): void {
    for (const spec of checks) {
      const t = out[spec.name];
      if (t === undefined) this.outputError(spec, 'is missing');
      else if (t.type !== spec.type) this.outputError(spec, `has type ${t.type}, expected ${spec.type}`);
      else if (!shapeMatches(t.dims, spec.dims)) {
        this.outputError(
          spec,
          `has shape [${t.dims.join(',')}], expected [${spec.dims.map((d) => d ?? '*').join(',')}]`,
        );
      }
    }
  }

  private outputError(spec: S, what: string): never {
    throw new EdgeloomError(ErrorCode.E_ONNX_OUTPUT, `model ${this.modelId}: output "${spec.name}" ${what}`, {
      where: `${this.modelId}:${spec.name}`,
    });
  }
}

function shapeMatches(actual: readonly number[], expected: readonly (number | null)[]): boolean {
  if (actual.length !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (e !== null && e !== actual[i]) return false;
  }
  return true;
}

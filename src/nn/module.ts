// The module system: a tree of modules, each owning named parameters and
// child modules. Dotted names (`layers.0.attention.wq.weight`) come from the
// tree, exactly as torch.nn.Module builds them, so state dicts map 1:1 onto
// Meta's checkpoints. Forwards run through `runForward`, which gives each
// module call its own tidy scope (temporaries die at the module boundary) and
// calls forward hooks.

import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/scope.js';
import { isMemoryContextActive, withModuleContext } from '../tensor/memory-context.js';
import { asParameter, assignParameter } from './parameter.js';

/** Called after a module's forward with its inputs and output (like torch's register_forward_hook). */
export type ForwardHook = (module: Module, inputs: readonly Tensor[], output: Tensor) => void;

export interface ParameterCounts {
  /** Elements in all parameters. */
  readonly total: number;
  /** Elements in parameters with requiresGrad. */
  readonly trainable: number;
  readonly frozen: number;
}

export interface LoadStateDictOptions {
  /** Missing or unexpected keys are errors (default true); mis-shaped keys always are. */
  strict?: boolean;
  /** Names the source in error messages (a file name, say). */
  source?: string;
}

export interface LoadStateDictResult {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

export type StateDictSource = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export abstract class Module {
  /** Training mode (dropout active, checkpointing allowed); set through train()/eval(). */
  training = true;
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly childModules = new Map<string, Module>();
  private readonly forwardHooks = new Set<ForwardHook>();
  /** Where this module hangs in its tree (set by registerModule/replaceModule), for its dotted path. */
  private parentModule: Module | null = null;
  private nameInParent = '';

  /** The class name shown in messages (Linear, Attention, ...). */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Registers t as this module's parameter `name` (it becomes a kept, ledgered parameter). */
  protected registerParameter(name: string, t: Tensor, requiresGrad = true): Tensor {
    if (name.includes('.') || name === '') throw new Error(`${this.typeName}: parameter name '${name}' must be a non-empty name without dots`);
    if (this.ownParameters.has(name) || this.childModules.has(name)) throw new Error(`${this.typeName}: '${name}' is already registered`);
    asParameter(t, requiresGrad);
    t.name = name;
    this.ownParameters.set(name, t);
    return t;
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    if (name.includes('.') || name === '') throw new Error(`${this.typeName}: module name '${name}' must be a non-empty name without dots`);
    if (this.ownParameters.has(name) || this.childModules.has(name)) throw new Error(`${this.typeName}: '${name}' is already registered`);
    this.childModules.set(name, module);
    module.parentModule = this;
    module.nameInParent = name;
    return module;
  }

  /**
   * Swaps the child `name` for another module (how applyLora wraps a Linear).
   * A field of the same name on this module is updated too, so forwards that
   * read `this.wq` use the new child.
   */
  replaceModule(name: string, module: Module): void {
    if (!this.childModules.has(name)) {
      throw new Error(`${this.typeName}: has no child module '${name}' (children: ${[...this.childModules.keys()].join(', ') || 'none'})`);
    }
    this.childModules.set(name, module);
    module.parentModule = this;
    module.nameInParent = name;
    if (name in this) (this as unknown as Record<string, unknown>)[name] = module;
  }

  /**
   * Swaps this module's own parameter `name` for another tensor (same shape),
   * which becomes a parameter with the old one's requiresGrad; the field of
   * the same name follows. The old tensor is returned, not disposed.
   */
  replaceParameter(name: string, t: Tensor): Tensor {
    const old = this.ownParameters.get(name);
    if (!old) throw new Error(`${this.typeName}: has no parameter '${name}' (parameters: ${[...this.ownParameters.keys()].join(', ') || 'none'})`);
    if (old.shape.length !== t.shape.length || old.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(`${this.typeName}.replaceParameter('${name}'): new tensor ${t.describe()} does not match ${old.describe()}`);
    }
    asParameter(t, old.requiresGrad);
    t.name = name;
    this.ownParameters.set(name, t);
    if (name in this) (this as unknown as Record<string, unknown>)[name] = t;
    return old;
  }

  /** Dotted path from the root of this module's tree (`layers.0.attention.wq`); '' for the root. */
  get modulePath(): string {
    const names: string[] = [];
    for (let m: Module | null = this; m?.parentModule; m = m.parentModule) names.push(m.nameInParent);
    return names.reverse().join('.');
  }

  /** Direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.childModules.entries()];
  }

  /** This module and all its descendants with dotted paths ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.childModules) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Every parameter with its dotted name, in registration order (own parameters first, then children). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, p] of this.ownParameters) out.push([prefix ? `${prefix}.${name}` : name, p]);
    for (const [name, child] of this.childModules) out.push(...child.namedParameters(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Parameters that require grad (what an optimizer should update). */
  trainableParameters(): Tensor[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  /** The parameter with this dotted name. */
  getParameter(name: string): Tensor {
    const found = this.namedParameters().find(([n]) => n === name);
    if (!found) throw new Error(`${this.typeName}: no parameter '${name}' (it has ${this.namedParameters().length} parameters, e.g. '${this.namedParameters()[0]?.[0] ?? 'none'}')`);
    return found[1];
  }

  parameterCounts(): ParameterCounts {
    let total = 0;
    let trainable = 0;
    for (const p of this.parameters()) {
      total += p.numel;
      if (p.requiresGrad) trainable += p.numel;
    }
    return { total, trainable, frozen: total - trainable };
  }

  /** Sets requiresGrad on every parameter (like torch's requires_grad_). */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) {
      m.training = mode;
      m.onTrain(mode);
    }
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Called on every train()/eval() (LoRA merges on eval, unmerges on train; its own guards make repeats no-ops). */
  protected onTrain(_training: boolean): void {}

  registerForwardHook(hook: ForwardHook): () => void {
    this.forwardHooks.add(hook);
    return () => { this.forwardHooks.delete(hook); };
  }

  /** Runs a forward body in its own tidy scope, then the forward hooks. */
  protected runForward(inputs: readonly Tensor[], body: () => Tensor): Tensor {
    const scoped = () => tidy(() => {
      const output = body();
      for (const hook of this.forwardHooks) hook(this, inputs, output);
      return output;
    });
    // A recording memory timeline attributes what happens inside to this module (the root by class name).
    return isMemoryContextActive() ? withModuleContext(this.modulePath || this.typeName, scoped) : scoped();
  }

  /** The parameters by dotted name (the handles themselves, like torch's state_dict). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  /**
   * Copies every entry of `source` into the parameter of the same name, in
   * place. Shapes must match; float dtypes convert. With strict (default),
   * missing and unexpected keys are errors too; all problems are reported at once.
   */
  loadStateDict(source: StateDictSource, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const what = `loadStateDict(${this.typeName}${options.source ? `, ${options.source}` : ''})`;
    const entries: Map<string, Tensor> = source instanceof Map ? new Map(source) : new Map(Object.entries(source as Record<string, Tensor>));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    for (const [name, value] of entries) {
      const param = own.get(name);
      if (!param) continue;
      if (!shapesEqual(value.shape, param.shape)) {
        problems.push(`size mismatch for '${name}': the source has ${formatShape(value.shape)}, the parameter is ${formatShape(param.shape)}`);
      } else if (value.dtype === 'i32') {
        problems.push(`dtype mismatch for '${name}': the source is i32, the parameter is ${param.dtype}`);
      }
    }
    if (strict && missingKeys.length > 0) problems.push(`missing key(s): ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected key(s): ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    if (problems.length > 0) throw new Error(`${what}: ${problems.length} error(s):\n  ${problems.join('\n  ')}`);
    for (const [name, value] of entries) {
      const param = own.get(name);
      if (param) assignParameter(name, param, value, { what });
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter (and its gradient) and whatever else the module holds. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, m] of this.namedModules()) m.disposeBuffers();
  }

  /** Hook for modules holding non-parameter tensors (rotary tables). */
  protected disposeBuffers(): void {}
}

/**
 * A hybrid estimator choosing between two ways of running one slot (a stage:
 * inline or parallel; a phase's I/O: batched or direct). Before any run the
 * static prior picks: what the declarations and entity counts predict. After
 * that, measured cost decides: per slot and mode, an exponential moving
 * average of milliseconds per run and of its variance. The slot switches
 * only when the other mode is expected better by `marginRatio` of the
 * current mean and by `noiseSigmas` standard deviations of the difference,
 * and only after `cooldownRuns` runs since the last switch, so noise cannot
 * make it flap. Now and then it runs a short burst in the other mode
 * (exploration) so both estimates exist and stay fresh; the interval doubles
 * each time exploration confirms the current mode, and resets when the work
 * changes by more than `workChangeRatio`, since estimates made at another
 * size say little.
 *
 * State is fixed at construction: `slots` times 2 modes of numbers.
 *
 * @module
 */

/** Mode 0 or 1; what each means is the caller's. */
export type Mode = 0 | 1;

/** Tuning; every figure is bounded. */
export interface EstimatorOptions {
  /** Slots (stages or phases) the estimator tracks. */
  readonly slots: number;
  /** Weight of a new sample in the moving averages once warmed up (default 0.1). */
  readonly alpha?: number;
  /** Fraction of the current mean the other mode must save (default 0.15). */
  readonly marginRatio?: number;
  /** Standard deviations of the difference the saving must exceed (default 2). */
  readonly noiseSigmas?: number;
  /** Runs of a slot between switches (default 30). */
  readonly cooldownRuns?: number;
  /** Samples of a mode before its estimate counts (default 3). */
  readonly minSamples?: number;
  /** Runs in the current mode before the first exploration (default 32). */
  readonly exploreEveryRuns?: number;
  /** Longest exploration interval, in runs (default 2048). */
  readonly exploreEveryRunsMax?: number;
  /** Measured runs in a row of one exploration, after one warm-up run (default 4). */
  readonly exploreBurstRuns?: number;
  /** First runs of each mode left out of its estimate: code and caches still cold (default 5). */
  readonly warmupRuns?: number;
  /** Work ratio beyond which a mode's estimate is stale (default 2). */
  readonly workChangeRatio?: number;
  /**
   * What `noiseSigmas` counts (default "run"): "run" is the spread of single
   * runs, so a switch needs the modes' timings apart run by run (strict, for
   * stages); "mean" is the standard error of each moving mean (the spread
   * divided by the samples behind it, at most 1 / alpha of them), so a mode
   * cheaper on average wins even where single runs vary more than the gap, as
   * I/O latencies with a long tail do. The margin and the cooldown still hold,
   * and it decides only after an exploration burst (fresh figures of the other
   * mode), so a wandering mean is tested a few times, not at every run.
   */
  readonly noiseOf?: "run" | "mean";
}

/** Why a slot switched. */
export interface Switch {
  readonly slot: number;
  readonly from: Mode;
  readonly to: Mode;
  readonly reason: string;
}

const SLOT_LIMIT = 1 << 16;

/** Measured cost per slot and mode, with hysteresis, a cooldown and exploration. */
export class ModeEstimator {
  readonly slots: number;
  private readonly alpha: number;
  private readonly marginRatio: number;
  private readonly noiseSigmas: number;
  private readonly cooldownRuns: number;
  private readonly minSamples: number;
  private readonly exploreEveryRuns: number;
  private readonly exploreEveryRunsMax: number;
  private readonly exploreBurstRuns: number;
  private readonly workChangeRatio: number;
  private readonly warmupRuns: number;
  private readonly noiseOfMean: boolean;
  /** Per slot * 2 + mode. */
  private readonly mean: Float64Array;
  private readonly variance: Float64Array;
  private readonly samples: Float64Array;
  private readonly runs: Float64Array;
  private readonly work: Float64Array;
  /** Per slot. */
  private readonly current: Uint8Array;
  private readonly sinceSwitch: Float64Array;
  private readonly sinceExplore: Float64Array;
  private readonly exploreInterval: Float64Array;
  private readonly burstLeft: Int32Array;
  private readonly switchCount: Float64Array;
  private readonly started: Uint8Array;
  /** Per slot: 1 if the next run, the first of an exploration burst, only warms up. */
  private readonly warming: Uint8Array;
  private pending: Switch | undefined;

  constructor(options: EstimatorOptions) {
    const slots = options.slots;
    if (!Number.isInteger(slots) || slots < 0 || slots > SLOT_LIMIT) {
      throw new RangeError(
        `estimator slots must be an integer from 0 to ${SLOT_LIMIT}; got ${slots}`,
      );
    }
    this.slots = slots;
    this.alpha = options.alpha ?? 0.1;
    this.marginRatio = options.marginRatio ?? 0.15;
    this.noiseSigmas = options.noiseSigmas ?? 2;
    this.cooldownRuns = options.cooldownRuns ?? 30;
    this.minSamples = options.minSamples ?? 3;
    this.exploreEveryRuns = options.exploreEveryRuns ?? 32;
    this.exploreEveryRunsMax = options.exploreEveryRunsMax ?? 2048;
    this.exploreBurstRuns = options.exploreBurstRuns ?? 4;
    this.workChangeRatio = options.workChangeRatio ?? 2;
    this.warmupRuns = options.warmupRuns ?? 5;
    this.noiseOfMean = options.noiseOf === "mean";
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError("alpha must be in (0, 1]");
    this.mean = new Float64Array(slots * 2);
    this.variance = new Float64Array(slots * 2);
    this.samples = new Float64Array(slots * 2);
    this.runs = new Float64Array(slots * 2);
    this.work = new Float64Array(slots * 2);
    this.current = new Uint8Array(slots);
    this.sinceSwitch = new Float64Array(slots);
    this.sinceExplore = new Float64Array(slots);
    this.exploreInterval = new Float64Array(slots).fill(this.exploreEveryRuns);
    this.burstLeft = new Int32Array(slots);
    this.switchCount = new Float64Array(slots);
    this.started = new Uint8Array(slots);
    this.warming = new Uint8Array(slots);
  }

  /** Sets a slot's mode from the static prior, before its first run. */
  prior(slot: number, mode: Mode): void {
    this.check(slot);
    if (this.started[slot] === 1) return;
    this.current[slot] = mode;
  }

  /** The slot's chosen mode (exploration bursts aside). */
  mode(slot: number): Mode {
    return this.current[slot] as Mode;
  }

  /**
   * The mode to run `slot` in now, at `work` (any size measure: entities
   * times cost, operations); an exploration burst runs the other mode. If
   * the work changed so much that the current mode's estimate is stale, the
   * static prior for the new work (`priorMode`) decides again: a switch that
   * `takeSwitch` returns.
   */
  next(slot: number, work: number, priorMode?: Mode): Mode {
    this.check(slot);
    this.started[slot] = 1;
    let mode = this.current[slot] as Mode;
    const staleRatio = this.staleCheck(slot, mode, work);
    if (staleRatio > 0 && priorMode !== undefined && priorMode !== mode) {
      this.switchTo(slot, priorMode);
      this.pending = {
        slot,
        from: mode,
        to: priorMode,
        reason: `work changed ${fmt(staleRatio)}x (to ${Math.round(work)}); the prior decides`,
      };
      mode = priorMode;
    }
    const other = (1 - mode) as Mode;
    this.staleCheck(slot, other, work);
    if (this.burstLeft[slot] > 0) {
      this.burstLeft[slot]--;
      return other;
    }
    if (this.sinceExplore[slot] >= this.exploreInterval[slot]) {
      this.sinceExplore[slot] = 0;
      this.burstLeft[slot] = this.exploreBurstRuns;
      this.warming[slot] = 1;
      // The burst measures the other mode's mean afresh: its old mean is from another time,
      // and blended into a long moving average a burst would barely move it. Its variance
      // stays: a few runs rarely see the tail that the longer record holds.
      this.samples[slot * 2 + other] = 0;
      return other;
    }
    return mode;
  }

  /**
   * Records that `slot` ran in `mode` at `work` for `ms`; returns the switch
   * this caused, if any.
   */
  observe(slot: number, mode: Mode, work: number, ms: number): Switch | undefined {
    this.check(slot);
    if (!(ms >= 0) || !Number.isFinite(ms)) return undefined;
    const i = slot * 2 + mode;
    const cold = this.runs[i] < this.warmupRuns;
    if (cold || (this.warming[slot] === 1 && mode !== this.current[slot])) {
      // A mode's first runs, and the other mode's first run after a while, pay for cold
      // code and caches: not what the mode costs.
      if (mode !== this.current[slot]) this.warming[slot] = 0;
      else this.sinceExplore[slot]++;
      this.runs[i]++;
      this.sinceSwitch[slot]++;
      return undefined;
    }
    const n = ++this.samples[i];
    this.runs[i]++;
    // The first samples average evenly, so an estimate is useful after minSamples.
    const a = Math.max(this.alpha, 1 / n);
    const delta = ms - this.mean[i];
    this.mean[i] += a * delta;
    // A first sample keeps the variance on record (0 for a new or stale estimate).
    this.variance[i] = n === 1
      ? this.variance[i]
      : (1 - a) * (this.variance[i] + a * delta * delta);
    this.work[i] = n === 1 ? work : this.work[i] + a * (work - this.work[i]);
    this.sinceSwitch[slot]++;
    if (mode === this.current[slot]) this.sinceExplore[slot]++;
    else if (this.burstLeft[slot] === 0) return this.afterExplore(slot);
    // Noise of the mean: the current mode's moving mean wanders, and testing it at every run
    // would find a chance gap sooner or later; fresh figures of the other mode decide.
    return this.noiseOfMean ? undefined : this.consider(slot);
  }

  /** The switch the last `next` made, once. */
  takeSwitch(): Switch | undefined {
    const change = this.pending;
    this.pending = undefined;
    return change;
  }

  /** Switches of `slot` so far. */
  switches(slot: number): number {
    return this.switchCount[slot];
  }

  /** Runs of `slot` in `mode`. */
  runCount(slot: number, mode: Mode): number {
    return this.runs[slot * 2 + mode];
  }

  /** Samples in the current estimate of `slot` in `mode` (warm-up runs and stale ones left out). */
  sampleCount(slot: number, mode: Mode): number {
    return this.samples[slot * 2 + mode];
  }

  /** Moving mean ms of `slot` in `mode` (0 if never run). */
  meanMs(slot: number, mode: Mode): number {
    return this.mean[slot * 2 + mode];
  }

  /** Moving standard deviation of `slot`'s ms in `mode`. */
  stdMs(slot: number, mode: Mode): number {
    return Math.sqrt(this.variance[slot * 2 + mode]);
  }

  /** After an exploration burst: switch, or explore less often. */
  private afterExplore(slot: number): Switch | undefined {
    const change = this.consider(slot);
    if (change === undefined) {
      this.exploreInterval[slot] = Math.min(
        this.exploreInterval[slot] * 2,
        this.exploreEveryRunsMax,
      );
    }
    return change;
  }

  /** Switches if the other mode is expected better beyond margin and noise, past the cooldown. */
  private consider(slot: number): Switch | undefined {
    if (this.sinceSwitch[slot] < this.cooldownRuns) return undefined;
    const from = this.current[slot] as Mode;
    const to = (1 - from) as Mode;
    const c = slot * 2 + from, o = slot * 2 + to;
    if (this.samples[c] < this.minSamples || this.samples[o] < this.minSamples) return undefined;
    const gain = this.mean[c] - this.mean[o];
    const noise = Math.sqrt(this.variance[c] * this.share(c) + this.variance[o] * this.share(o));
    if (gain <= this.marginRatio * this.mean[c] || gain <= this.noiseSigmas * noise) {
      return undefined;
    }
    this.switchTo(slot, to);
    const reason = `${fmt(this.mean[o])} ms expected against ${fmt(this.mean[c])} ms ` +
      `(noise ${fmt(noise)} ms)`;
    return { slot, from, to, reason };
  }

  /**
   * The part of a run's variance left in the mean at index `i`: 1 when noise
   * counts single runs; else 1 / samples for a plain average, and
   * alpha / (2 - alpha) for the moving average it becomes.
   */
  private share(i: number): number {
    if (!this.noiseOfMean) return 1;
    return Math.max(1 / this.samples[i], this.alpha / (2 - this.alpha));
  }

  private switchTo(slot: number, to: Mode): void {
    this.current[slot] = to;
    this.sinceSwitch[slot] = 0;
    this.sinceExplore[slot] = 0;
    this.exploreInterval[slot] = this.exploreEveryRuns;
    this.burstLeft[slot] = 0;
    this.warming[slot] = 0;
    this.switchCount[slot]++;
  }

  /**
   * Forgets a mode's estimate made at a very different work size and
   * explores soon; returns the work ratio if it did, else 0.
   */
  private staleCheck(slot: number, mode: Mode, work: number): number {
    const i = slot * 2 + mode;
    if (this.samples[i] === 0) return 0;
    const was = Math.max(this.work[i], 1e-9), now = Math.max(work, 1e-9);
    const ratio = now > was ? now / was : was / now;
    if (ratio <= this.workChangeRatio) return 0;
    this.samples[i] = 0;
    this.variance[i] = 0;
    this.exploreInterval[slot] = this.exploreEveryRuns;
    return ratio;
  }

  private check(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new RangeError(`estimator slot ${slot} out of range 0..${this.slots - 1}`);
    }
  }
}

function fmt(ms: number): string {
  return ms >= 1 ? ms.toFixed(2) : ms.toPrecision(2);
}

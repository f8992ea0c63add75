/**
 * One regression tree under construction, in flat typed arrays (node 0 = root; a leaf has
 * feature -1). Nodes route by bin during training and by raw float32 value at prediction; the
 * two agree because the node's threshold is the float32 upper bound of its cut bin.
 */
import type { BinnedFeatures } from './binning.js';
import type { TrainedTree } from './forest.js';

export class Tree {
  numNodes = 1;
  readonly feature: Int32Array;
  /** Last value bin going left. */
  readonly bin: Int32Array;
  readonly threshold: Float64Array;
  readonly defaultLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
  readonly gain: Float64Array;

  constructor(maxLeaves: number) {
    const cap = 2 * maxLeaves - 1;
    this.feature = new Int32Array(cap).fill(-1);
    this.bin = new Int32Array(cap);
    this.threshold = new Float64Array(cap);
    this.defaultLeft = new Uint8Array(cap);
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Int32Array(cap).fill(-1);
    this.value = new Float64Array(cap);
    this.gain = new Float64Array(cap);
  }

  /** Clears the tree back to a single root leaf so the buffers serve the next tree. */
  reset(): void {
    for (let i = 0; i < this.numNodes; i++) {
      this.feature[i] = -1;
      this.left[i] = -1;
      this.right[i] = -1;
      this.value[i] = 0;
      this.gain[i] = 0;
      this.defaultLeft[i] = 0;
      this.bin[i] = 0;
      this.threshold[i] = 0;
    }
    this.numNodes = 1;
  }

  /** Turns leaf `node` into a split; returns the new left child (right = left + 1). */
  split(node: number, feature: number, bin: number, threshold: number, defaultLeft: boolean, gain: number): number {
    const l = this.numNodes;
    this.numNodes += 2;
    this.feature[node] = feature;
    this.bin[node] = bin;
    this.threshold[node] = threshold;
    this.defaultLeft[node] = defaultLeft ? 1 : 0;
    this.gain[node] = gain;
    this.left[node] = l;
    this.right[node] = l + 1;
    return l;
  }

  /** Leaf reached by row r of the binned training data. */
  leafOfBinnedRow(binned: BinnedFeatures, r: number): number {
    const { bins, rows } = binned;
    let node = 0;
    while (this.feature[node] >= 0) {
      const b = bins[this.feature[node] * rows + r];
      const goLeft = b === 0 ? this.defaultLeft[node] === 1 : b <= this.bin[node];
      node = goLeft ? this.left[node] : this.right[node];
    }
    return node;
  }

  /** Output for one raw row: data[base + f] (float32 values; NaN = missing). */
  predictRaw(data: Float32Array, base: number): number {
    let node = 0;
    while (this.feature[node] >= 0) {
      const x = data[base + this.feature[node]];
      const goLeft = x !== x ? this.defaultLeft[node] === 1 : x <= this.threshold[node];
      node = goLeft ? this.left[node] : this.right[node];
    }
    return this.value[node];
  }

  toTrained(): TrainedTree {
    const n = this.numNodes;
    return {
      feature: Array.from(this.feature.subarray(0, n)),
      threshold: Array.from(this.threshold.subarray(0, n)),
      defaultLeft: Array.from(this.defaultLeft.subarray(0, n)),
      left: Array.from(this.left.subarray(0, n)),
      right: Array.from(this.right.subarray(0, n)),
      value: Array.from(this.value.subarray(0, n)),
    };
  }
}

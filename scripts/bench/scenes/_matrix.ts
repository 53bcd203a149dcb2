/**
 * The 4x4 matrix work of the parallel benchmarks, shared by the StaticECS
 * scenes and the static-split baseline so both do exactly the same
 * arithmetic. Allocation-free: the matrix lives in sixteen columns.
 *
 * @module
 */

import type { Field } from "staticecs";

/** The sixteen f32 fields m0..m15 of a row-major 4x4 matrix. */
export const MATRIX_FIELDS = {
  m0: "f32",
  m1: "f32",
  m2: "f32",
  m3: "f32",
  m4: "f32",
  m5: "f32",
  m6: "f32",
  m7: "f32",
  m8: "f32",
  m9: "f32",
  m10: "f32",
  m11: "f32",
  m12: "f32",
  m13: "f32",
  m14: "f32",
  m15: "f32",
} as const;

/** The sixteen columns of a matrix, in field order. */
export interface MatrixColumns {
  m0: Float32Array;
  m1: Float32Array;
  m2: Float32Array;
  m3: Float32Array;
  m4: Float32Array;
  m5: Float32Array;
  m6: Float32Array;
  m7: Float32Array;
  m8: Float32Array;
  m9: Float32Array;
  m10: Float32Array;
  m11: Float32Array;
  m12: Float32Array;
  m13: Float32Array;
  m14: Float32Array;
  m15: Float32Array;
}

/**
 * Inverts row `i`'s matrix `times` times (in f64, written back as f32) and
 * returns its final determinant's sign, so the work cannot be skipped. A
 * singular matrix is left as it is. `m` is a holder the caller fills once per
 * chunk (no allocation per chunk or row).
 */
export function invertInPlace(m: MatrixColumns, i: number, times: number): number {
  let a0 = m.m0[i], a1 = m.m1[i], a2 = m.m2[i], a3 = m.m3[i];
  let a4 = m.m4[i], a5 = m.m5[i], a6 = m.m6[i], a7 = m.m7[i];
  let a8 = m.m8[i], a9 = m.m9[i], a10 = m.m10[i], a11 = m.m11[i];
  let a12 = m.m12[i], a13 = m.m13[i], a14 = m.m14[i], a15 = m.m15[i];
  let det = 0;
  for (let t = 0; t < times; t++) {
    const b0 = a0 * a5 - a1 * a4, b1 = a0 * a6 - a2 * a4, b2 = a0 * a7 - a3 * a4;
    const b3 = a1 * a6 - a2 * a5, b4 = a1 * a7 - a3 * a5, b5 = a2 * a7 - a3 * a6;
    const b6 = a8 * a13 - a9 * a12, b7 = a8 * a14 - a10 * a12, b8 = a8 * a15 - a11 * a12;
    const b9 = a9 * a14 - a10 * a13, b10 = a9 * a15 - a11 * a13, b11 = a10 * a15 - a11 * a14;
    det = b0 * b11 - b1 * b10 + b2 * b9 + b3 * b8 - b4 * b7 + b5 * b6;
    if (det === 0) return 0;
    const d = 1 / det;
    const c0 = (a5 * b11 - a6 * b10 + a7 * b9) * d, c1 = (a2 * b10 - a1 * b11 - a3 * b9) * d;
    const c2 = (a13 * b5 - a14 * b4 + a15 * b3) * d, c3 = (a10 * b4 - a9 * b5 - a11 * b3) * d;
    const c4 = (a6 * b8 - a4 * b11 - a7 * b7) * d, c5 = (a0 * b11 - a2 * b8 + a3 * b7) * d;
    const c6 = (a14 * b2 - a12 * b5 - a15 * b1) * d, c7 = (a8 * b5 - a10 * b2 + a11 * b1) * d;
    const c8 = (a4 * b10 - a5 * b8 + a7 * b6) * d, c9 = (a1 * b8 - a0 * b10 - a3 * b6) * d;
    const c10 = (a12 * b4 - a13 * b2 + a15 * b0) * d, c11 = (a9 * b2 - a8 * b4 - a11 * b0) * d;
    const c12 = (a5 * b7 - a4 * b9 - a6 * b6) * d, c13 = (a0 * b9 - a1 * b7 + a2 * b6) * d;
    const c14 = (a13 * b1 - a12 * b3 - a14 * b0) * d, c15 = (a8 * b3 - a9 * b1 + a10 * b0) * d;
    a0 = c0, a1 = c1, a2 = c2, a3 = c3, a4 = c4, a5 = c5, a6 = c6, a7 = c7;
    a8 = c8, a9 = c9, a10 = c10, a11 = c11, a12 = c12, a13 = c13, a14 = c14, a15 = c15;
  }
  m.m0[i] = a0, m.m1[i] = a1, m.m2[i] = a2, m.m3[i] = a3;
  m.m4[i] = a4, m.m5[i] = a5, m.m6[i] = a6, m.m7[i] = a7;
  m.m8[i] = a8, m.m9[i] = a9, m.m10[i] = a10, m.m11[i] = a11;
  m.m12[i] = a12, m.m13[i] = a13, m.m14[i] = a14, m.m15[i] = a15;
  return det > 0 ? 1 : -1;
}

const EMPTY = new Float32Array(0);

/** A holder of matrix columns, filled per chunk with `fillMatrix`; made once per thread. */
export function matrixHolder(): MatrixColumns {
  return {
    m0: EMPTY,
    m1: EMPTY,
    m2: EMPTY,
    m3: EMPTY,
    m4: EMPTY,
    m5: EMPTY,
    m6: EMPTY,
    m7: EMPTY,
    m8: EMPTY,
    m9: EMPTY,
    m10: EMPTY,
    m11: EMPTY,
    m12: EMPTY,
    m13: EMPTY,
    m14: EMPTY,
    m15: EMPTY,
  };
}

/**
 * Points `m` at a chunk's sixteen columns of a matrix component: `fields` is
 * that component's field list (ownerless code need not know the component).
 */
export function bindMatrix(
  m: MatrixColumns,
  chunk: { column(field: Field<"f32">): Float32Array },
  fields: readonly Field<"f32">[],
): void {
  const slots = m as unknown as Record<string, Float32Array>;
  for (let k = 0; k < fields.length; k++) slots[fields[k].name] = chunk.column(fields[k]);
}

// Tensority on OpenCL: the parts every lanes variant shares. SHA3-256 (FIPS 202, pad 0x06),
// the block-ID / lane-index kernel and the finish kernel (lane sum, strided pack, FNV fold,
// final SHA3, target check). Spec: shared/spec/tensority.md sections 4 and 5.
//
// Buffers (all little-endian; the host refuses big-endian devices):
//   ids    [n][4]  ulong   block ID of item i (32 bytes)
//   q      [n*4][32] uchar lane index strings, item i lane l at (4i+l)*32
//   final  [n*4][256][256] uchar the lane states after 64 products, row-major, raw int8

#define KECCAK_ROUNDS 24

__constant ulong keccak_rc[KECCAK_ROUNDS] = {
    0x0000000000000001UL, 0x0000000000008082UL, 0x800000000000808aUL, 0x8000000080008000UL,
    0x000000000000808bUL, 0x0000000080000001UL, 0x8000000080008081UL, 0x8000000000008009UL,
    0x000000000000008aUL, 0x0000000000000088UL, 0x0000000080008009UL, 0x000000008000000aUL,
    0x000000008000808bUL, 0x800000000000008bUL, 0x8000000000008089UL, 0x8000000000008003UL,
    0x8000000000008002UL, 0x8000000000000080UL, 0x000000000000800aUL, 0x800000008000000aUL,
    0x8000000080008081UL, 0x8000000000008080UL, 0x0000000080000001UL, 0x8000000080008008UL};

#define ROTL64(x, n) rotate((ulong)(x), (ulong)(n))

// Keccak-f[1600] on 25 lanes, written out so every array index is a constant.
inline void keccak_f(ulong s[25]) {
  for (int round = 0; round < KECCAK_ROUNDS; ++round) {
    ulong c0 = s[0] ^ s[5] ^ s[10] ^ s[15] ^ s[20];
    ulong c1 = s[1] ^ s[6] ^ s[11] ^ s[16] ^ s[21];
    ulong c2 = s[2] ^ s[7] ^ s[12] ^ s[17] ^ s[22];
    ulong c3 = s[3] ^ s[8] ^ s[13] ^ s[18] ^ s[23];
    ulong c4 = s[4] ^ s[9] ^ s[14] ^ s[19] ^ s[24];
    ulong d0 = c4 ^ ROTL64(c1, 1);
    ulong d1 = c0 ^ ROTL64(c2, 1);
    ulong d2 = c1 ^ ROTL64(c3, 1);
    ulong d3 = c2 ^ ROTL64(c4, 1);
    ulong d4 = c3 ^ ROTL64(c0, 1);
    // theta + rho + pi: b[y][2x+3y] = rot(a[x][y] ^ d[x], r[x][y]), index = x + 5y.
    ulong b0 = s[0] ^ d0;
    ulong b10 = ROTL64(s[1] ^ d1, 1);
    ulong b20 = ROTL64(s[2] ^ d2, 62);
    ulong b5 = ROTL64(s[3] ^ d3, 28);
    ulong b15 = ROTL64(s[4] ^ d4, 27);
    ulong b16 = ROTL64(s[5] ^ d0, 36);
    ulong b1 = ROTL64(s[6] ^ d1, 44);
    ulong b11 = ROTL64(s[7] ^ d2, 6);
    ulong b21 = ROTL64(s[8] ^ d3, 55);
    ulong b6 = ROTL64(s[9] ^ d4, 20);
    ulong b7 = ROTL64(s[10] ^ d0, 3);
    ulong b17 = ROTL64(s[11] ^ d1, 10);
    ulong b2 = ROTL64(s[12] ^ d2, 43);
    ulong b12 = ROTL64(s[13] ^ d3, 25);
    ulong b22 = ROTL64(s[14] ^ d4, 39);
    ulong b23 = ROTL64(s[15] ^ d0, 41);
    ulong b8 = ROTL64(s[16] ^ d1, 45);
    ulong b18 = ROTL64(s[17] ^ d2, 15);
    ulong b3 = ROTL64(s[18] ^ d3, 21);
    ulong b13 = ROTL64(s[19] ^ d4, 8);
    ulong b14 = ROTL64(s[20] ^ d0, 18);
    ulong b24 = ROTL64(s[21] ^ d1, 2);
    ulong b9 = ROTL64(s[22] ^ d2, 61);
    ulong b19 = ROTL64(s[23] ^ d3, 56);
    ulong b4 = ROTL64(s[24] ^ d4, 14);
    // chi
    s[0] = b0 ^ (~b1 & b2);
    s[1] = b1 ^ (~b2 & b3);
    s[2] = b2 ^ (~b3 & b4);
    s[3] = b3 ^ (~b4 & b0);
    s[4] = b4 ^ (~b0 & b1);
    s[5] = b5 ^ (~b6 & b7);
    s[6] = b6 ^ (~b7 & b8);
    s[7] = b7 ^ (~b8 & b9);
    s[8] = b8 ^ (~b9 & b5);
    s[9] = b9 ^ (~b5 & b6);
    s[10] = b10 ^ (~b11 & b12);
    s[11] = b11 ^ (~b12 & b13);
    s[12] = b12 ^ (~b13 & b14);
    s[13] = b13 ^ (~b14 & b10);
    s[14] = b14 ^ (~b10 & b11);
    s[15] = b15 ^ (~b16 & b17);
    s[16] = b16 ^ (~b17 & b18);
    s[17] = b17 ^ (~b18 & b19);
    s[18] = b18 ^ (~b19 & b15);
    s[19] = b19 ^ (~b15 & b16);
    s[20] = b20 ^ (~b21 & b22);
    s[21] = b21 ^ (~b22 & b23);
    s[22] = b22 ^ (~b23 & b24);
    s[23] = b23 ^ (~b24 & b20);
    s[24] = b24 ^ (~b20 & b21);
    // iota
    s[0] ^= keccak_rc[round];
  }
}

#define SHA3_PAD_FIRST 0x06UL
#define SHA3_PAD_LAST 0x8000000000000000UL  // byte 135 of the 136-byte rate

inline void keccak_clear(ulong s[25]) {
#pragma unroll
  for (int i = 0; i < 25; ++i) s[i] = 0;
}

// SHA3-256 of one 8-byte message (a lane's slice of the block ID).
inline void sha3_8(ulong m, ulong out[4]) {
  ulong s[25];
  keccak_clear(s);
  s[0] = m;
  s[1] = SHA3_PAD_FIRST;
  s[16] = SHA3_PAD_LAST;
  keccak_f(s);
  out[0] = s[0];
  out[1] = s[1];
  out[2] = s[2];
  out[3] = s[3];
}

// H = SHA3("entryid:blockheader:" || SHA3(body)), body = 17 words with the nonce in word 16.
inline void block_id(__global const ulong* body, ulong nonce, ulong out[4]) {
  ulong s[25];
  keccak_clear(s);
#pragma unroll
  for (int i = 0; i < 16; ++i) s[i] = body[i];
  s[16] = nonce;
  keccak_f(s);
  // 136 bytes fill the rate exactly: a second block holds only the padding.
  s[0] ^= SHA3_PAD_FIRST;
  s[16] ^= SHA3_PAD_LAST;
  keccak_f(s);
  const ulong i0 = s[0], i1 = s[1], i2 = s[2], i3 = s[3];
  keccak_clear(s);
  // "entryid:" "blockhea" "der:" then the 32-byte inner hash from byte 20.
  s[0] = 0x3a64697972746e65UL;  // "entryid:"
  s[1] = 0x6165686b636f6c62UL;  // "blockhea"
  s[2] = 0x3a726564UL | (i0 << 32);
  s[3] = (i0 >> 32) | (i1 << 32);
  s[4] = (i1 >> 32) | (i2 << 32);
  s[5] = (i2 >> 32) | (i3 << 32);
  s[6] = (i3 >> 32) | (SHA3_PAD_FIRST << 32);  // 52 message bytes, then the pad byte
  s[16] = SHA3_PAD_LAST;
  keccak_f(s);
  out[0] = s[0];
  out[1] = s[1];
  out[2] = s[2];
  out[3] = s[3];
}

// Block IDs and lane indices for n items. mode 0: item i is nonce nonce_start + i (wrapping
// at 2^64) over body; mode 1: item i's block ID is given in ids_in.
__kernel void tensority_ids(__global const ulong* restrict body, ulong nonce_start,
                            __global const ulong* restrict ids_in, uint mode,
                            __global ulong* restrict ids, __global ulong* restrict q, uint n) {
  const uint i = (uint)get_global_id(0);
  if (i >= n) return;
  ulong h[4];
  if (mode == 0) {
    block_id(body, nonce_start + (ulong)i, h);
  } else {
    h[0] = ids_in[4 * i + 0];
    h[1] = ids_in[4 * i + 1];
    h[2] = ids_in[4 * i + 2];
    h[3] = ids_in[4 * i + 3];
  }
  ids[4 * i + 0] = h[0];
  ids[4 * i + 1] = h[1];
  ids[4 * i + 2] = h[2];
  ids[4 * i + 3] = h[3];
#pragma unroll
  for (int l = 0; l < 4; ++l) {
    ulong o[4];
    sha3_8(h[l], o);
    q[(4 * i + l) * 4 + 0] = o[0];
    q[(4 * i + l) * 4 + 1] = o[1];
    q[(4 * i + l) * 4 + 2] = o[2];
    q[(4 * i + l) * 4 + 3] = o[3];
  }
}

#define FNV_PRIME 0x01000193u

// S8[r][c] = sum of the 4 lane bytes at (r, c), mod 256.
inline uint lane_sum(__global const uchar* f, uint r, uint c) {
  const uint o = r * 256u + c;
  return (uint)(f[o] + f[65536u + o] + f[131072u + o] + f[196608u + o]) & 0xFFu;
}

inline uint packed_word(__global const uchar* f, uint r, uint j) {
  return lane_sum(f, r, j) | (lane_sum(f, r, j + 64u) << 8) | (lane_sum(f, r, j + 128u) << 16) |
         (lane_sum(f, r, j + 192u) << 24);
}

// One work-group of 64 per item: work-item j folds column j of W over the 256 rows; item 0
// then hashes row 0 and checks the target. Found items are appended as 9 ulongs
// (nonce, block ID, result) at an atomic counter; with want_all, every result is also stored
// in results[i].
__kernel __attribute__((reqd_work_group_size(64, 1, 1)))
void tensority_finish(__global const uchar* restrict final_state, __global const ulong* restrict ids,
                      ulong nonce_start, uint n, ulong t0, ulong t1, ulong t2, ulong t3, uint never,
                      uint want_all, __global ulong* restrict results, __global uint* restrict found_count,
                      __global ulong* restrict found, uint found_capacity) {
  __local uint row[64];
  const uint i = (uint)get_group_id(0);
  const uint j = (uint)get_local_id(0);
  if (i >= n) return;  // uniform across the group
  __global const uchar* f = final_state + (ulong)i * 4u * 65536u;
  uint w[128];
  // n = 256 folded while packing, then 128 .. 2 in place.
  for (uint r = 0; r < 128u; ++r) w[r] = (packed_word(f, r, j) * FNV_PRIME) ^ packed_word(f, r + 128u, j);
  for (uint span = 64; span >= 1u; span >>= 1) {
    for (uint r = 0; r < span; ++r) w[r] = (w[r] * FNV_PRIME) ^ w[r + span];
  }
  row[j] = w[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  if (j != 0) return;
  // SHA3 of 256 bytes: 136 + 120.
  ulong s[25];
  keccak_clear(s);
#pragma unroll
  for (int k = 0; k < 17; ++k) s[k] = (ulong)row[2 * k] | ((ulong)row[2 * k + 1] << 32);
  keccak_f(s);
#pragma unroll
  for (int k = 0; k < 15; ++k) s[k] ^= (ulong)row[34 + 2 * k] | ((ulong)row[35 + 2 * k] << 32);
  s[15] ^= SHA3_PAD_FIRST;
  s[16] ^= SHA3_PAD_LAST;
  keccak_f(s);
  const ulong r0 = s[0], r1 = s[1], r2 = s[2], r3 = s[3];
  if (want_all) {
    results[4 * i + 0] = r0;
    results[4 * i + 1] = r1;
    results[4 * i + 2] = r2;
    results[4 * i + 3] = r3;
  }
  // LE 256-bit compare, most significant limb first: met when result <= target.
  bool met;
  if (r3 != t3) met = r3 < t3;
  else if (r2 != t2) met = r2 < t2;
  else if (r1 != t1) met = r1 < t1;
  else met = r0 <= t0;
  if (never || !met) return;
  const uint slot = atomic_inc(found_count);
  if (slot >= found_capacity) return;
  __global ulong* o = found + 9u * slot;
  o[0] = nonce_start + (ulong)i;
  o[1] = ids[4 * i + 0];
  o[2] = ids[4 * i + 1];
  o[3] = ids[4 * i + 2];
  o[4] = ids[4 * i + 3];
  o[5] = r0;
  o[6] = r1;
  o[7] = r2;
  o[8] = r3;
}

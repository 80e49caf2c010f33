// In-place unnormalized fast Walsh-Hadamard transform along the last dimension, CPU.
// Two cache-friendly phases instead of log2(L) full passes over memory:
//   1. every block of kBlock contiguous elements is transformed completely while it sits in L2;
//   2. the remaining stages (strides >= kBlock) act on the (L/kBlock) x kBlock matrix view along its
//      rows, one narrow column strip at a time, so each strip also stays in cache for all its stages.
#include <ATen/core/Tensor.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

namespace {

constexpr int64_t kBlock = int64_t{1} << 16;  // elements transformed in L2 in phase 1 (256 KiB of float)
constexpr int64_t kStrip = 256;                // columns per strip in phase 2

template <typename T>
inline void butterfly_pair(T* a, T* b, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const T u = a[j], v = b[j];
    a[j] = u + v;
    b[j] = u - v;
  }
}

// 8-point transforms on consecutive groups of 8: the first three stages, which are too short to vectorize.
template <typename T>
inline void radix8_groups(T* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    T* p = x + i;
    const T a0 = p[0] + p[1], a1 = p[0] - p[1], a2 = p[2] + p[3], a3 = p[2] - p[3];
    const T a4 = p[4] + p[5], a5 = p[4] - p[5], a6 = p[6] + p[7], a7 = p[6] - p[7];
    const T b0 = a0 + a2, b1 = a1 + a3, b2 = a0 - a2, b3 = a1 - a3;
    const T b4 = a4 + a6, b5 = a5 + a7, b6 = a4 - a6, b7 = a5 - a7;
    p[0] = b0 + b4; p[1] = b1 + b5; p[2] = b2 + b6; p[3] = b3 + b7;
    p[4] = b0 - b4; p[5] = b1 - b5; p[6] = b2 - b6; p[7] = b3 - b7;
  }
}

// Full transform of n contiguous elements (n a power of two).
template <typename T>
void transform_block(T* x, int64_t n) {
  int64_t h = 1;
  if (n >= 8) {
    radix8_groups(x, n);
    h = 8;
  }
  for (; h < n; h <<= 1)
    for (int64_t i = 0; i < n; i += 2 * h) butterfly_pair(x + i, x + i + h, h);
}

// Transform along the rows of a rows x cols matrix (row stride cols), restricted to columns [c0, c0 + width).
template <typename T>
void transform_columns(T* x, int64_t rows, int64_t cols, int64_t c0, int64_t width) {
  for (int64_t h = 1; h < rows; h <<= 1)
    for (int64_t i = 0; i < rows; i += 2 * h)
      for (int64_t r = i; r < i + h; ++r) butterfly_pair(x + r * cols + c0, x + (r + h) * cols + c0, width);
}

template <typename T>
void hadamard_rows(T* data, int64_t batch, int64_t length) {
  const int64_t block = std::min(length, kBlock);
  const int64_t blocks_per_row = length / block;
  at::parallel_for(0, batch * blocks_per_row, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) transform_block(data + k * block, block);
  });
  if (blocks_per_row == 1) return;
  const int64_t strip = std::min(kStrip, block);
  const int64_t strips_per_row = block / strip;
  at::parallel_for(0, batch * strips_per_row, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      T* row = data + (k / strips_per_row) * length;
      transform_columns(row, blocks_per_row, block, (k % strips_per_row) * strip, strip);
    }
  });
}

at::Tensor& hadamard_(at::Tensor& x) {
  TORCH_CHECK(x.is_contiguous(), "hadamard_: input must be contiguous");
  TORCH_CHECK(x.dim() >= 1, "hadamard_: input must have at least one dimension");
  const int64_t length = x.size(-1);
  TORCH_CHECK(length > 0 && (length & (length - 1)) == 0, "hadamard_: last dimension must be a power of two, got ",
              length);
  if (x.numel() == 0) return x;
  const int64_t batch = x.numel() / length;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "hadamard_", [&] { hadamard_rows(x.data_ptr<scalar_t>(), batch, length); });
  return x;
}

}  // namespace

TORCH_LIBRARY(intrinsic_dim, m) { m.def("hadamard_(Tensor(a!) x) -> Tensor(a!)"); }

TORCH_LIBRARY_IMPL(intrinsic_dim, CPU, m) { m.impl("hadamard_", hadamard_); }

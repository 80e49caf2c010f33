// CPU kernels for Fastfood projections, registered as torch.ops.intrinsic_dim.*.
//
// hadamard_: in-place unnormalized fast Walsh-Hadamard transform along the last dimension, in two
// cache-friendly phases instead of log2(L) passes over memory: (1) each block of kBlock contiguous elements
// is transformed completely while it sits in L2; (2) the remaining stages act on the (L / kBlock) x kBlock
// matrix view along its columns, one strip of kStrip columns at a time, which also stays in cache.
// Butterflies go two stages at a time (radix 4) to halve the loads and stores. hadamard is the out-of-place
// version: the copy of the input is phase 1's load, so it costs no pass of its own.
//
// Fresh outputs of L elements are asked to be backed by 2 MiB pages (empty_huge): at L = 2^24 one page fault
// per 4 KiB page of a new 64 MiB buffer cost more than the transform itself.
//
// fastfood_forward / fastfood_backward: Fastfood's long half, H G Pi applied to a short vector tiled to
// length L, and its transpose, with the gather (or the grad copy) and the fold fused into the transform's
// own passes over memory.
//
// sparse_matvec / sparse_matvec_transposed: P x and P^T g for a very sparse projection stored once, in
// compressed rows with two bytes per non-zero.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace {

constexpr int64_t kBlock = int64_t{1} << 16;  // elements transformed in L2 in phase 1 (256 KiB of float)
constexpr int64_t kStrip = 256;               // columns per strip in phase 2

template <typename T>
inline void radix2(T* a, T* b, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const T u = a[j], v = b[j];
    a[j] = u + v;
    b[j] = u - v;
  }
}

// Two stages at once on four rows a, b, c, d that are h and 2h apart.
template <typename T>
inline void radix4(T* a, T* b, T* c, T* d, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const T s0 = a[j] + b[j], s1 = a[j] - b[j], s2 = c[j] + d[j], s3 = c[j] - d[j];
    a[j] = s0 + s2;
    b[j] = s1 + s3;
    c[j] = s0 - s2;
    d[j] = s1 - s3;
  }
}

// The first three stages as 8-point transforms: too short to vectorize along the data.
template <typename T>
inline void radix8_groups(T* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    T* p = x + i;
    const T a0 = p[0] + p[1], a1 = p[0] - p[1], a2 = p[2] + p[3], a3 = p[2] - p[3];
    const T a4 = p[4] + p[5], a5 = p[4] - p[5], a6 = p[6] + p[7], a7 = p[6] - p[7];
    const T b0 = a0 + a2, b1 = a1 + a3, b2 = a0 - a2, b3 = a1 - a3;
    const T b4 = a4 + a6, b5 = a5 + a7, b6 = a4 - a6, b7 = a5 - a7;
    p[0] = b0 + b4;
    p[1] = b1 + b5;
    p[2] = b2 + b6;
    p[3] = b3 + b7;
    p[4] = b0 - b4;
    p[5] = b1 - b5;
    p[6] = b2 - b6;
    p[7] = b3 - b7;
  }
}

// All stages over `count` rows of `width` elements, `stride` apart: the transform along the columns.
template <typename T>
void column_stages(T* x, int64_t count, int64_t stride, int64_t width) {
  int64_t h = 1;
  for (; 4 * h <= count; h *= 4)
    for (int64_t i = 0; i < count; i += 4 * h)
      for (int64_t r = i; r < i + h; ++r)
        radix4(x + r * stride, x + (r + h) * stride, x + (r + 2 * h) * stride, x + (r + 3 * h) * stride, width);
  if (h < count)
    for (int64_t r = 0; r < h; ++r) radix2(x + r * stride, x + (r + h) * stride, width);
}

// Full transform of n contiguous elements.
template <typename T>
void transform_block(T* x, int64_t n) {
  int64_t h = 1;
  if (n >= 8) {
    radix8_groups(x, n);
    h = 8;
  }
  for (; 4 * h <= n; h *= 4)
    for (int64_t i = 0; i < n; i += 4 * h) radix4(x + i, x + i + h, x + i + 2 * h, x + i + 3 * h, h);
  if (h < n)
    for (int64_t i = 0; i < n; i += 2 * h) radix2(x + i, x + i + h, h);
}

// Both phases over `batch` rows of `length`, with hooks that let Fastfood fuse its other steps into the
// passes the transform makes anyway: load(x, row, start, count) fills a phase-1 block before it is
// transformed; finish(x, row, c0, width, count, stride) is called once elements x[q * stride + c0 + j]
// (q < count, j < width) of row x are final, while they are still in cache.
template <typename T, typename Load, typename Finish>
void hadamard_rows(T* data, int64_t batch, int64_t length, const Load& load, const Finish& finish) {
  const int64_t block = std::min(length, kBlock);
  const int64_t blocks_per_row = length / block;
  at::parallel_for(0, batch * blocks_per_row, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t row = k / blocks_per_row, start = (k % blocks_per_row) * block;
      T* x = data + row * length + start;
      load(x, row, start, block);
      transform_block(x, block);
      if (blocks_per_row == 1) finish(x, row, 0, block, 1, block);
    }
  });
  if (blocks_per_row == 1) return;
  const int64_t strip = std::min(kStrip, block);
  const int64_t strips_per_row = block / strip;
  at::parallel_for(0, batch * strips_per_row, 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t row = k / strips_per_row, c0 = (k % strips_per_row) * strip;
      T* x = data + row * length;
      column_stages(x + c0, blocks_per_row, block, strip);
      finish(x, row, c0, strip, blocks_per_row, block);
    }
  });
}

// at::empty, with the 2 MiB-aligned part of the buffer advised to use transparent huge pages (Linux with
// THP in "madvise" or "always" mode; elsewhere a no-op). Advice only: memory the allocator already mapped
// with small pages stays as it is.
at::Tensor empty_huge(at::IntArrayRef sizes, const at::TensorOptions& options) {
  at::Tensor out = at::empty(sizes, options);
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHugePage = uintptr_t{1} << 21;
  const auto begin = reinterpret_cast<uintptr_t>(out.data_ptr());
  const uintptr_t first = (begin + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t last = (begin + out.nbytes()) & ~(kHugePage - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#endif
  return out;
}

void check_power_of_two(int64_t length, const char* op) {
  TORCH_CHECK(length > 0 && (length & (length - 1)) == 0, op, ": last dimension must be a power of two, got ", length);
}

at::Tensor& hadamard_(at::Tensor& x) {
  TORCH_CHECK(x.is_contiguous() && x.dim() >= 1, "hadamard_: input must be contiguous with at least one dimension");
  check_power_of_two(x.size(-1), "hadamard_");
  if (x.numel() == 0) return x;
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "hadamard_", [&] {
    const auto no_load = [](scalar_t*, int64_t, int64_t, int64_t) {};
    const auto no_finish = [](scalar_t*, int64_t, int64_t, int64_t, int64_t, int64_t) {};
    hadamard_rows(x.data_ptr<scalar_t>(), x.numel() / x.size(-1), x.size(-1), no_load, no_finish);
  });
  return x;
}

at::Tensor hadamard(const at::Tensor& x) {
  TORCH_CHECK(x.is_contiguous() && x.dim() >= 1, "hadamard: input must be contiguous with at least one dimension");
  check_power_of_two(x.size(-1), "hadamard");
  at::Tensor out = empty_huge(x.sizes(), x.options());
  if (x.numel() == 0) return out;
  const int64_t length = x.size(-1);
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "hadamard", [&] {
    const scalar_t* source = x.data_ptr<scalar_t>();
    const auto copy = [&](scalar_t* block, int64_t row, int64_t start, int64_t count) {
      std::copy(source + row * length + start, source + row * length + start + count, block);
    };
    const auto no_finish = [](scalar_t*, int64_t, int64_t, int64_t, int64_t, int64_t) {};
    hadamard_rows(out.data_ptr<scalar_t>(), x.numel() / length, length, copy, no_finish);
  });
  return out;
}

void check_fastfood_args(const at::Tensor& index, const at::Tensor& gains, const char* op) {
  TORCH_CHECK(index.dim() == 2 && index.scalar_type() == at::kInt && index.is_contiguous(), op,
              ": index must be a contiguous (rows, L) int32 tensor");
  TORCH_CHECK(gains.sizes() == index.sizes() && gains.is_contiguous(), op, ": gains must match index");
  check_power_of_two(index.size(1), op);
}

// Row r of the result: H_L of (short_rows[r, index[r, i]] * gains[r, i])_i; the gather is the load.
at::Tensor fastfood_forward(const at::Tensor& short_rows, const at::Tensor& index, const at::Tensor& gains) {
  check_fastfood_args(index, gains, "fastfood_forward");
  TORCH_CHECK(short_rows.dim() == 2 && short_rows.size(0) == index.size(0) && short_rows.is_contiguous() &&
                  short_rows.scalar_type() == gains.scalar_type(),
              "fastfood_forward: short_rows must be contiguous (rows, b) of the gains' dtype");
  at::Tensor out = empty_huge(index.sizes(), gains.options());
  const int64_t length = index.size(1), width = short_rows.size(1);
  AT_DISPATCH_FLOATING_TYPES(gains.scalar_type(), "fastfood_forward", [&] {
    const scalar_t* source = short_rows.data_ptr<scalar_t>();
    const int32_t* idx = index.data_ptr<int32_t>();
    const scalar_t* g = gains.data_ptr<scalar_t>();
    const auto gather = [&](scalar_t* x, int64_t row, int64_t start, int64_t count) {
      const scalar_t* row_source = source + row * width;
      const int64_t offset = row * length + start;
      for (int64_t i = 0; i < count; ++i) x[i] = row_source[idx[offset + i]] * g[offset + i];
    };
    const auto no_finish = [](scalar_t*, int64_t, int64_t, int64_t, int64_t, int64_t) {};
    hadamard_rows(out.data_ptr<scalar_t>(), index.size(0), length, gather, no_finish);
  });
  return out;
}

// The transpose of fastfood_forward: row r of the grad (its first out_sizes[r] entries, zero-padded) is
// transformed, then folded: result[r, index[r, i]] += gains[r, i] * transformed[r, i]. The copy is the
// load; the fold happens as parts become final, into one accumulator per thread.
at::Tensor fastfood_backward(const at::Tensor& grad, at::IntArrayRef out_sizes, const at::Tensor& index,
                             const at::Tensor& gains, int64_t width) {
  check_fastfood_args(index, gains, "fastfood_backward");
  const int64_t rows = index.size(0), length = index.size(1);
  TORCH_CHECK(static_cast<int64_t>(out_sizes.size()) == rows, "fastfood_backward: one out_size per row");
  std::vector<int64_t> offsets(rows + 1, 0);
  for (int64_t r = 0; r < rows; ++r) {
    TORCH_CHECK(out_sizes[r] <= length, "fastfood_backward: out_sizes must not exceed L");
    offsets[r + 1] = offsets[r] + out_sizes[r];
  }
  TORCH_CHECK(grad.dim() == 1 && grad.is_contiguous() && grad.numel() == offsets[rows] &&
                  grad.scalar_type() == gains.scalar_type(),
              "fastfood_backward: grad must be a contiguous vector of sum(out_sizes) entries");
  at::Tensor work = empty_huge(index.sizes(), gains.options());
  at::Tensor partial = at::zeros({at::get_num_threads(), rows, width}, gains.options());
  AT_DISPATCH_FLOATING_TYPES(gains.scalar_type(), "fastfood_backward", [&] {
    const scalar_t* source = grad.data_ptr<scalar_t>();
    const int32_t* idx = index.data_ptr<int32_t>();
    const scalar_t* g = gains.data_ptr<scalar_t>();
    scalar_t* acc = partial.data_ptr<scalar_t>();
    const auto copy = [&](scalar_t* x, int64_t row, int64_t start, int64_t count) {
      const int64_t filled = std::clamp<int64_t>(out_sizes[row] - start, 0, count);
      std::copy(source + offsets[row] + start, source + offsets[row] + start + filled, x);
      std::fill(x + filled, x + count, scalar_t(0));
    };
    const auto fold = [&](scalar_t* x, int64_t row, int64_t c0, int64_t strip, int64_t count, int64_t stride) {
      scalar_t* out = acc + (at::get_thread_num() * rows + row) * width;
      const int32_t* row_idx = idx + row * length;
      const scalar_t* row_g = g + row * length;
      for (int64_t q = 0; q < count; ++q)
        for (int64_t i = q * stride + c0; i < q * stride + c0 + strip; ++i) out[row_idx[i]] += x[i] * row_g[i];
    };
    hadamard_rows(work.data_ptr<scalar_t>(), rows, length, copy, fold);
  });
  return partial.sum(0);
}

// A sparse projection's P in compressed rows: entry k of row r is sign(s[k]) * scales[|s[k]| - 1] at column
// |s[k]| - 1, where s = signed_cols (int16 when d < 2^15). Two bytes per non-zero instead of eight, which is
// what these memory-bound products cost.
// Branch-free decoding: signs are random, so a branch would be mispredicted half the time.
template <typename col_t>
inline int64_t signed_col_sign(col_t s) {
  return (static_cast<int64_t>(s) >> 63) | 1;
}

template <typename col_t>
inline int64_t signed_col_index(col_t s) {
  return static_cast<int64_t>(s) * signed_col_sign(s) - 1;
}

template <typename index_t, typename col_t, typename scalar_t>
void sparse_rows_times(const index_t* starts, const col_t* s, const scalar_t* weighted, scalar_t* out, int64_t rows) {
  at::parallel_for(0, rows, 2048, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      scalar_t sum = 0;
      for (index_t k = starts[r]; k < starts[r + 1]; ++k)
        sum += static_cast<scalar_t>(signed_col_sign(s[k])) * weighted[signed_col_index(s[k])];
      out[r] = sum;
    }
  });
}

void check_sparse_args(const at::Tensor& row_starts, const at::Tensor& signed_cols, const at::Tensor& scales,
                       const at::Tensor& v, const char* op) {
  TORCH_CHECK(row_starts.dim() == 1 && row_starts.is_contiguous() && signed_cols.is_contiguous() &&
                  scales.is_contiguous() && v.dim() == 1 && v.is_contiguous(),
              op, ": arguments must be contiguous vectors");
  TORCH_CHECK(scales.scalar_type() == v.scalar_type(), op, ": scales and vector must share a dtype");
}

// P x
at::Tensor sparse_matvec(const at::Tensor& row_starts, const at::Tensor& signed_cols, const at::Tensor& scales,
                         const at::Tensor& x) {
  check_sparse_args(row_starts, signed_cols, scales, x, "sparse_matvec");
  TORCH_CHECK(x.numel() == scales.numel(), "sparse_matvec: x must have one entry per column");
  const at::Tensor weighted = x.mul(scales);
  const int64_t rows = row_starts.numel() - 1;
  at::Tensor out = at::empty({rows}, x.options());
  AT_DISPATCH_INDEX_TYPES(row_starts.scalar_type(), "sparse_matvec", [&] {
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "sparse_matvec", [&] {
      const index_t* starts = row_starts.data_ptr<index_t>();
      const scalar_t* w = weighted.data_ptr<scalar_t>();
      scalar_t* o = out.data_ptr<scalar_t>();
      if (signed_cols.scalar_type() == at::kShort)
        sparse_rows_times(starts, signed_cols.data_ptr<int16_t>(), w, o, rows);
      else
        sparse_rows_times(starts, signed_cols.data_ptr<int32_t>(), w, o, rows);
    });
  });
  return out;
}

template <typename index_t, typename col_t, typename scalar_t>
void sparse_rows_scatter(const index_t* starts, const col_t* s, const scalar_t* g, scalar_t* partial, int64_t rows,
                         int64_t width, int64_t chunks) {
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      scalar_t* acc = partial + chunk * width;
      const int64_t stop = std::min(rows, (chunk + 1) * rows_per_chunk);
      for (int64_t r = chunk * rows_per_chunk; r < stop; ++r)
        for (index_t k = starts[r]; k < starts[r + 1]; ++k)
          acc[signed_col_index(s[k])] += static_cast<scalar_t>(signed_col_sign(s[k])) * g[r];
    }
  });
}

// P^T g: each thread scatters its rows into its own accumulator of length d, then they are summed.
at::Tensor sparse_matvec_transposed(const at::Tensor& row_starts, const at::Tensor& signed_cols,
                                    const at::Tensor& scales, const at::Tensor& g) {
  check_sparse_args(row_starts, signed_cols, scales, g, "sparse_matvec_transposed");
  const int64_t rows = row_starts.numel() - 1, width = scales.numel();
  TORCH_CHECK(g.numel() == rows, "sparse_matvec_transposed: g must have one entry per row");
  const int64_t chunks = std::min<int64_t>(at::get_num_threads(), std::max<int64_t>(1, rows / 4096));
  at::Tensor partial = at::zeros({chunks, width}, g.options());
  AT_DISPATCH_INDEX_TYPES(row_starts.scalar_type(), "sparse_matvec_transposed", [&] {
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "sparse_matvec_transposed", [&] {
      const index_t* starts = row_starts.data_ptr<index_t>();
      scalar_t* p = partial.data_ptr<scalar_t>();
      if (signed_cols.scalar_type() == at::kShort)
        sparse_rows_scatter(starts, signed_cols.data_ptr<int16_t>(), g.data_ptr<scalar_t>(), p, rows, width, chunks);
      else
        sparse_rows_scatter(starts, signed_cols.data_ptr<int32_t>(), g.data_ptr<scalar_t>(), p, rows, width, chunks);
    });
  });
  return partial.sum(0).mul(scales);
}

}  // namespace

TORCH_LIBRARY(intrinsic_dim, m) {
  m.def("hadamard_(Tensor(a!) x) -> Tensor(a!)");
  m.def("hadamard(Tensor x) -> Tensor");
  m.def("fastfood_forward(Tensor short_rows, Tensor index, Tensor gains) -> Tensor");
  m.def("fastfood_backward(Tensor grad, int[] out_sizes, Tensor index, Tensor gains, int width) -> Tensor");
  m.def("sparse_matvec(Tensor row_starts, Tensor signed_cols, Tensor scales, Tensor x) -> Tensor");
  m.def("sparse_matvec_transposed(Tensor row_starts, Tensor signed_cols, Tensor scales, Tensor g) -> Tensor");
}

TORCH_LIBRARY_IMPL(intrinsic_dim, CPU, m) {
  m.impl("hadamard_", hadamard_);
  m.impl("hadamard", hadamard);
  m.impl("fastfood_forward", fastfood_forward);
  m.impl("fastfood_backward", fastfood_backward);
  m.impl("sparse_matvec", sparse_matvec);
  m.impl("sparse_matvec_transposed", sparse_matvec_transposed);
}

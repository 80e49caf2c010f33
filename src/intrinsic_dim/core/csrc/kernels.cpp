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
// length L, and its transpose, with the gather (or the copy of the gradients) and the fold fused into the
// transform's own passes over memory; the forward's last pass also writes the result, scaled and added to
// theta_0, into each parameter tensor's place.
//
// sparse_matvec / sparse_matvec_transposed: theta_0 + P x and P^T g for a very sparse projection stored in
// two layouts, one per product, each read as long runs of independent gathers.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <sys/mman.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

namespace {

constexpr int64_t kBlock = int64_t{1} << 16;  // elements transformed in L2 in phase 1 (256 KiB of float)
constexpr int64_t kStrip = 256;               // columns per strip in phase 2
constexpr int64_t kMinParallelBlock = int64_t{1} << 12;  // shorter blocks cost more in phase 2 than they save

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

#ifdef __AVX2__
// One stage of butterflies between lanes `h` apart inside a vector: u + v in the lower lane, u - v in the
// upper, where `partner` holds each lane's counterpart.
inline __m256 lane_butterfly(__m256 x, __m256 partner, int upper_lanes) {
  return _mm256_blend_ps(_mm256_add_ps(x, partner), _mm256_sub_ps(partner, x), upper_lanes);
}

// The 8-point transform of each group of 8 floats, in registers.
inline void radix8_groups(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    v = lane_butterfly(v, _mm256_permute_ps(v, 0b10110001), 0b10101010);
    v = lane_butterfly(v, _mm256_permute_ps(v, 0b01001110), 0b11001100);
    v = lane_butterfly(v, _mm256_permute2f128_ps(v, v, 1), 0b11110000);
    _mm256_storeu_ps(x + i, v);
  }
}
#endif

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
  int64_t block = std::min(length, kBlock);
  // Enough phase-1 blocks for every thread: one row of 2^16 would otherwise be transformed by one thread.
  while (block > kMinParallelBlock && batch * (length / block) < at::get_num_threads()) block /= 2;
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

template <typename T>
void no_finish(T*, int64_t, int64_t, int64_t, int64_t, int64_t) {}

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
    hadamard_rows(x.data_ptr<scalar_t>(), x.numel() / x.size(-1), x.size(-1), no_load, no_finish<scalar_t>);
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
    hadamard_rows(out.data_ptr<scalar_t>(), x.numel() / length, length, copy, no_finish<scalar_t>);
  });
  return out;
}

void check_fastfood_args(const at::Tensor& index, const at::Tensor& gains, const char* op) {
  TORCH_CHECK(index.dim() == 2 && index.scalar_type() == at::kInt && index.is_contiguous(), op,
              ": index must be a contiguous (rows, L) int32 tensor");
  TORCH_CHECK(gains.sizes() == index.sizes() && gains.is_contiguous(), op, ": gains must match index");
  check_power_of_two(index.size(1), op);
}

// The parts of a bank's long rows that matter: segment k is elements [starts[k], starts[k] + sizes[k]) of
// row rows[k]. Forward, it is written to out[offsets[k]...]; backward, it is read from grads[k].
struct Segment {
  int64_t start, size, index;
};
using RowSegments = std::vector<std::vector<Segment>>;  // per row, sorted by start

RowSegments row_segments(int64_t rows, int64_t length, at::IntArrayRef seg_rows, at::IntArrayRef starts,
                         at::IntArrayRef sizes, const char* op) {
  TORCH_CHECK(seg_rows.size() == starts.size() && starts.size() == sizes.size(), op,
              ": one row, start and size per segment");
  RowSegments segments(rows);
  for (size_t k = 0; k < seg_rows.size(); ++k) {
    TORCH_CHECK(seg_rows[k] >= 0 && seg_rows[k] < rows && starts[k] >= 0 && sizes[k] >= 0 &&
                    starts[k] + sizes[k] <= length,
                op, ": segment ", k, " lies outside the rows");
    segments[seg_rows[k]].push_back({starts[k], sizes[k], static_cast<int64_t>(k)});
  }
  for (auto& row : segments) {
    std::sort(row.begin(), row.end(), [](const Segment& a, const Segment& b) { return a.start < b.start; });
    for (size_t k = 1; k < row.size(); ++k)
      TORCH_CHECK(row[k - 1].start + row[k - 1].size <= row[k].start, op, ": segments of a row overlap");
  }
  return segments;
}

// fn(segment, lo, hi) for the part [lo, hi) of each segment of the row that lies inside [begin, end).
template <typename Fn>
inline void for_each_overlap(const std::vector<Segment>& row, int64_t begin, int64_t end, const Fn& fn) {
  auto it = std::upper_bound(row.begin(), row.end(), begin,
                             [](int64_t value, const Segment& s) { return value < s.start + s.size; });
  for (; it != row.end() && it->start < end; ++it) fn(*it, std::max(begin, it->start), std::min(end, it->start + it->size));
}

// Row r of H_L (short_rows[r, index[r, i]] * gains[r, i])_i, times scales[r], plus base, written segment by
// segment into out while each part is still in cache after its last stage: the gather is phase 1's load,
// the scaling, the addition of theta_0 and the split into parameter tensors are the transform's finish.
void fastfood_forward(at::Tensor& out, const std::optional<at::Tensor>& base, const at::Tensor& short_rows,
                      const at::Tensor& index, const at::Tensor& gains, const std::optional<at::Tensor>& scales,
                      at::IntArrayRef seg_rows, at::IntArrayRef seg_starts, at::IntArrayRef seg_sizes,
                      at::IntArrayRef seg_offsets) {
  static constexpr char op[] = "fastfood_forward";
  check_fastfood_args(index, gains, op);
  const int64_t rows = index.size(0), length = index.size(1), width = short_rows.size(1);
  TORCH_CHECK(short_rows.dim() == 2 && short_rows.size(0) == rows && short_rows.is_contiguous() &&
                  short_rows.scalar_type() == gains.scalar_type(),
              op, ": short_rows must be contiguous (rows, b) of the gains' dtype");
  TORCH_CHECK(out.dim() == 1 && out.is_contiguous() && out.scalar_type() == gains.scalar_type(), op,
              ": out must be a contiguous vector of the gains' dtype");
  TORCH_CHECK(!base || (base->sizes() == out.sizes() && base->is_contiguous() &&
                        base->scalar_type() == out.scalar_type()),
              op, ": base must be a contiguous vector like out");
  TORCH_CHECK(!scales || (scales->dim() == 1 && scales->numel() == rows && scales->is_contiguous() &&
                          scales->scalar_type() == gains.scalar_type()),
              op, ": one scale per row");
  TORCH_CHECK(seg_offsets.size() == seg_sizes.size(), op, ": one offset per segment");
  for (size_t k = 0; k < seg_offsets.size(); ++k)
    TORCH_CHECK(seg_offsets[k] >= 0 && seg_offsets[k] + seg_sizes[k] <= out.numel(), op, ": segment ", k,
                " lies outside out");
  const RowSegments segments = row_segments(rows, length, seg_rows, seg_starts, seg_sizes, op);
  at::Tensor work = empty_huge(index.sizes(), gains.options());
  AT_DISPATCH_FLOATING_TYPES(gains.scalar_type(), op, [&] {
    const scalar_t* source = short_rows.data_ptr<scalar_t>();
    const int32_t* idx = index.data_ptr<int32_t>();
    const scalar_t* g = gains.data_ptr<scalar_t>();
    const scalar_t* added = base ? base->data_ptr<scalar_t>() : nullptr;
    const scalar_t* row_scale = scales ? scales->data_ptr<scalar_t>() : nullptr;
    scalar_t* result = out.data_ptr<scalar_t>();
    const auto gather = [&](scalar_t* x, int64_t row, int64_t start, int64_t count) {
      const scalar_t* row_source = source + row * width;
      const int64_t offset = row * length + start;
      for (int64_t i = 0; i < count; ++i) x[i] = row_source[idx[offset + i]] * g[offset + i];
    };
    const auto write = [&](const scalar_t* x, int64_t row, int64_t c0, int64_t strip, int64_t count,
                           int64_t stride) {
      const scalar_t scale = row_scale ? row_scale[row] : scalar_t(1);
      for (int64_t q = 0; q < count; ++q)
        for_each_overlap(segments[row], q * stride + c0, q * stride + c0 + strip,
                         [&](const Segment& s, int64_t lo, int64_t hi) {
                           const int64_t at = seg_offsets[s.index] + lo - s.start;
                           scalar_t* o = result + at;
                           const scalar_t* y = x + lo;
                           if (added) {
                             const scalar_t* b = added + at;
                             for (int64_t i = 0; i < hi - lo; ++i) o[i] = b[i] + scale * y[i];
                           } else {
                             for (int64_t i = 0; i < hi - lo; ++i) o[i] = scale * y[i];
                           }
                         });
    };
    hadamard_rows(work.data_ptr<scalar_t>(), rows, length, gather, write);
  });
}

// The transpose of fastfood_forward without its scales: row r, zero except where its segments' grads go, is
// transformed, then folded: result[r, index[r, i]] += gains[r, i] * transformed[r, i]. Filling the row is
// the load; the fold happens as parts become final, into one accumulator per thread. A missing grad is zero.
at::Tensor fastfood_backward(const c10::List<std::optional<at::Tensor>>& grads, at::IntArrayRef seg_rows,
                             at::IntArrayRef seg_starts, at::IntArrayRef seg_sizes, const at::Tensor& index,
                             const at::Tensor& gains, int64_t width) {
  static constexpr char op[] = "fastfood_backward";
  check_fastfood_args(index, gains, op);
  const int64_t rows = index.size(0), length = index.size(1);
  const RowSegments segments = row_segments(rows, length, seg_rows, seg_starts, seg_sizes, op);
  TORCH_CHECK(grads.size() == seg_sizes.size(), op, ": one grad per segment");
  std::vector<at::Tensor> grad(grads.size());
  for (size_t k = 0; k < grads.size(); ++k) {
    const std::optional<at::Tensor> given = grads[k];
    if (!given || !given->defined()) continue;
    TORCH_CHECK(given->numel() == seg_sizes[k] && given->scalar_type() == gains.scalar_type(), op, ": grad ", k,
                " must have its segment's size and the gains' dtype");
    grad[k] = given->contiguous();
  }
  at::Tensor work = empty_huge(index.sizes(), gains.options());
  at::Tensor partial = at::zeros({at::get_num_threads(), rows, width}, gains.options());
  AT_DISPATCH_FLOATING_TYPES(gains.scalar_type(), op, [&] {
    const int32_t* idx = index.data_ptr<int32_t>();
    const scalar_t* g = gains.data_ptr<scalar_t>();
    scalar_t* acc = partial.data_ptr<scalar_t>();
    const auto fill = [&](scalar_t* x, int64_t row, int64_t start, int64_t count) {
      std::fill(x, x + count, scalar_t(0));
      for_each_overlap(segments[row], start, start + count, [&](const Segment& s, int64_t lo, int64_t hi) {
        if (grad[s.index].defined())
          std::copy_n(grad[s.index].data_ptr<scalar_t>() + lo - s.start, hi - lo, x + lo - start);
      });
    };
    const auto fold = [&](const scalar_t* x, int64_t row, int64_t c0, int64_t strip, int64_t count,
                          int64_t stride) {
      scalar_t* folded = acc + (at::get_thread_num() * rows + row) * width;
      const int32_t* row_idx = idx + row * length;
      const scalar_t* row_g = g + row * length;
      for (int64_t q = 0; q < count; ++q)
        for (int64_t i = q * stride + c0; i < q * stride + c0 + strip; ++i) folded[row_idx[i]] += x[i] * row_g[i];
    };
    hadamard_rows(work.data_ptr<scalar_t>(), rows, length, fill, fold);
  });
  return partial.sum(0);
}

// A sparse projection's P (D x d), stored twice, each layout made for one product.
// An entry is a signed index s = sign * (index + 1): sign(s) * scales[column] is the value, 0 is padding.
// Branch-free decoding: signs are random, so a branch would be mispredicted half the time.
// values[|s| - shift] times the sign of s.
template <int32_t shift, typename int_t, typename scalar_t>
inline scalar_t signed_entry(int_t s, const scalar_t* values) {
  const int32_t sign = static_cast<int32_t>(s) >> 31 | 1;
  return static_cast<scalar_t>(sign) * values[static_cast<int32_t>(s) * sign - shift];
}

// P x in row chunks (SELL-8): rows are grouped 8 at a time, row_order[8c + l] being lane l of chunk c (-1: none),
// and the chunk's entries are stored lane-interleaved, entry k of lane l at entries[chunk_starts[c] + 8k + l],
// each lane padded to the chunk's longest row. Rows are sorted by length within windows before chunking,
// so padding is rare, and 8 rows advance together: one loop exit per chunk instead of one mispredicted
// exit per row of ~10 entries, and 8 independent gathers per step. Columns are int16 when d < 2^15.
constexpr int64_t kLanes = 8;

#ifdef __AVX2__
// Lane-wise sign(s) * values[|s| - shift] of 8 signed int32 indices: the sign is the float's sign bit.
template <int32_t shift>
inline __m256 signed_gather(__m256i s, const float* values) {
  const __m256i index = _mm256_sub_epi32(_mm256_abs_epi32(s), _mm256_set1_epi32(shift));
  const __m256 gathered = _mm256_i32gather_ps(values, index, 4);
  return _mm256_xor_ps(gathered, _mm256_castsi256_ps(_mm256_and_si256(s, _mm256_set1_epi32(INT32_MIN))));
}

inline __m256i load_lanes(const int16_t* p) {
  return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256i load_lanes(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
#endif

// The 8 lanes' sums of chunk c, into sum[0..8).
template <typename index_t, typename col_t, typename scalar_t>
inline void chunk_sums(const index_t* chunk_starts, const col_t* entries, const scalar_t* weighted, int64_t c,
                       scalar_t* sum) {
#ifdef __AVX2__
  if constexpr (std::is_same_v<scalar_t, float>) {
    __m256 acc = _mm256_setzero_ps();
    for (index_t k = chunk_starts[c]; k < chunk_starts[c + 1]; k += kLanes)
      acc = _mm256_add_ps(acc, signed_gather<0>(load_lanes(entries + k), weighted));
    _mm256_storeu_ps(sum, acc);
    return;
  }
#endif
  std::fill(sum, sum + kLanes, scalar_t(0));
  for (index_t k = chunk_starts[c]; k < chunk_starts[c + 1]; k += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) sum[l] += signed_entry<0>(entries[k + l], weighted);
}

template <typename index_t, typename col_t, typename scalar_t>
void sparse_chunks_times(const index_t* chunk_starts, const col_t* entries, const int32_t* row_order,
                         const scalar_t* weighted, const scalar_t* base, scalar_t* out, int64_t chunks) {
  at::parallel_for(0, chunks, 256, [&](int64_t begin, int64_t end) {
    scalar_t sum[kLanes];
    for (int64_t c = begin; c < end; ++c) {
      chunk_sums(chunk_starts, entries, weighted, c, sum);
      for (int64_t l = 0; l < kLanes; ++l) {
        const int32_t row = row_order[c * kLanes + l];
        if (row >= 0) out[row] = base ? base[row] + sum[l] : sum[l];
      }
    }
  });
}

// Sum of sign(s) * g[|s| - 1] over one column's signed rows, 8 independent partial sums at a time.
template <typename scalar_t>
inline scalar_t column_sum(const int32_t* signed_rows, int64_t count, const scalar_t* g) {
  int64_t k = 0;
  scalar_t partial[kLanes] = {};
#ifdef __AVX2__
  if constexpr (std::is_same_v<scalar_t, float>) {
    __m256 acc = _mm256_setzero_ps();
    for (; k + kLanes <= count; k += kLanes) acc = _mm256_add_ps(acc, signed_gather<1>(load_lanes(signed_rows + k), g));
    _mm256_storeu_ps(partial, acc);
  }
#endif
  for (; k + kLanes <= count; k += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) partial[l] += signed_entry<1>(signed_rows[k + l], g);
  scalar_t sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += partial[l];
  for (; k < count; ++k) sum += signed_entry<1>(signed_rows[k], g);
  return sum;
}

// P^T g in compressed columns, by blocks of rows: segment (b, j) holds column j's entries in row block b,
// signed rows, sorted, at signed_rows[col_starts[b * cols + j]...]. A block's part of g stays in L2 while
// every column gathers from it.
template <typename index_t, typename scalar_t>
void sparse_columns_times(const index_t* col_starts, const int32_t* signed_rows, const scalar_t* g,
                          const scalar_t* scales, scalar_t* out, int64_t cols, int64_t blocks) {
  std::fill(out, out + cols, scalar_t(0));
  for (int64_t b = 0; b < blocks; ++b) {
    const index_t* starts = col_starts + b * cols;
    at::parallel_for(0, cols, 16, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j)
        out[j] += column_sum(signed_rows + starts[j], starts[j + 1] - starts[j], g);
    });
  }
  for (int64_t j = 0; j < cols; ++j) out[j] *= scales[j];
}

void check_contiguous_vectors(std::initializer_list<const at::Tensor*> tensors, const char* op) {
  for (const at::Tensor* t : tensors)
    TORCH_CHECK(t->dim() == 1 && t->is_contiguous(), op, ": arguments must be contiguous vectors");
}

// base + P x (base is optional); out has one entry per row of P.
at::Tensor sparse_matvec(const at::Tensor& chunk_starts, const at::Tensor& entries, const at::Tensor& row_order,
                         const at::Tensor& scales, const at::Tensor& x, const std::optional<at::Tensor>& base,
                         int64_t rows) {
  static constexpr char op[] = "sparse_matvec";
  check_contiguous_vectors({&chunk_starts, &entries, &row_order, &scales, &x}, op);
  TORCH_CHECK(x.numel() == scales.numel() && scales.scalar_type() == x.scalar_type(), op,
              ": x must have one entry per column, of the scales' dtype");
  TORCH_CHECK(row_order.scalar_type() == at::kInt && row_order.numel() == (chunk_starts.numel() - 1) * kLanes, op,
              ": row_order must hold int32 rows, 8 per chunk");
  TORCH_CHECK(!base || (base->dim() == 1 && base->numel() == rows && base->is_contiguous() &&
                        base->scalar_type() == x.scalar_type()),
              op, ": base must be a contiguous vector with one entry per row");
  at::Tensor weighted = at::zeros({x.numel() + 1}, x.options());  // weighted[0] = 0 is what padding reads
  weighted.narrow(0, 1, x.numel()).copy_(x.mul(scales));
  at::Tensor out = at::empty({rows}, x.options());
  AT_DISPATCH_INDEX_TYPES(chunk_starts.scalar_type(), op, [&] {
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), op, [&] {
      const index_t* starts = chunk_starts.data_ptr<index_t>();
      const scalar_t* b = base ? base->data_ptr<scalar_t>() : nullptr;
      const auto run = [&](const auto* e) {
        sparse_chunks_times(starts, e, row_order.data_ptr<int32_t>(), weighted.data_ptr<scalar_t>(), b,
                            out.data_ptr<scalar_t>(), chunk_starts.numel() - 1);
      };
      if (entries.scalar_type() == at::kShort)
        run(entries.data_ptr<int16_t>());
      else
        run(entries.data_ptr<int32_t>());
    });
  });
  return out;
}

// P^T g
at::Tensor sparse_matvec_transposed(const at::Tensor& col_starts, const at::Tensor& signed_rows,
                                    const at::Tensor& scales, const at::Tensor& g) {
  static constexpr char op[] = "sparse_matvec_transposed";
  check_contiguous_vectors({&col_starts, &signed_rows, &scales, &g}, op);
  TORCH_CHECK(signed_rows.scalar_type() == at::kInt, op, ": signed_rows must be int32");
  TORCH_CHECK(scales.scalar_type() == g.scalar_type() && (col_starts.numel() - 1) % scales.numel() == 0, op,
              ": one scale per column, of g's dtype, and col_starts for whole blocks of columns");
  at::Tensor out = at::empty({scales.numel()}, g.options());
  AT_DISPATCH_INDEX_TYPES(col_starts.scalar_type(), op, [&] {
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), op, [&] {
      sparse_columns_times(col_starts.data_ptr<index_t>(), signed_rows.data_ptr<int32_t>(), g.data_ptr<scalar_t>(),
                           scales.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), scales.numel(),
                           (col_starts.numel() - 1) / scales.numel());
    });
  });
  return out;
}

}  // namespace

TORCH_LIBRARY(intrinsic_dim, m) {
  m.def("hadamard_(Tensor(a!) x) -> Tensor(a!)");
  m.def("hadamard(Tensor x) -> Tensor");
  m.def(
      "fastfood_forward(Tensor(a!) out, Tensor? base, Tensor short_rows, Tensor index, Tensor gains, Tensor? scales, "
      "int[] seg_rows, int[] seg_starts, int[] seg_sizes, int[] seg_offsets) -> ()");
  m.def(
      "fastfood_backward(Tensor?[] grads, int[] seg_rows, int[] seg_starts, int[] seg_sizes, Tensor index, "
      "Tensor gains, int width) -> Tensor");
  m.def(
      "sparse_matvec(Tensor chunk_starts, Tensor entries, Tensor row_order, Tensor scales, Tensor x, Tensor? base, "
      "int rows) -> Tensor");
  m.def("sparse_matvec_transposed(Tensor col_starts, Tensor signed_rows, Tensor scales, Tensor g) -> Tensor");
}

TORCH_LIBRARY_IMPL(intrinsic_dim, CPU, m) {
  m.impl("hadamard_", hadamard_);
  m.impl("hadamard", hadamard);
  m.impl("fastfood_forward", fastfood_forward);
  m.impl("fastfood_backward", fastfood_backward);
  m.impl("sparse_matvec", sparse_matvec);
  m.impl("sparse_matvec_transposed", sparse_matvec_transposed);
}

// The FeLIF fine forward as one compiled loop: the equations of
// bruno_hil/physics/fecap.py (fecap_step, then spike and reset), operation for operation
// in the same order and with the same math routines as torch's CPU kernels, so that it
// agrees with the eager torch loop bit for bit:
//   exp, log: MKL VML in high-accuracy mode (torch's at::vml::vexp / vlog);
//   expm1:    SLEEF's u10 routine (torch's Vectorized<double>::expm1);
//   + - * /, comparisons, min/max: IEEE double, no fused multiply-adds (-ffp-contract=off).
//
// The state of a block of batch rows lives in small buffers; each fine step runs a few
// passes over the block (arithmetic loops the compiler vectorizes, the math routines on
// whole buffers). Blocks are spread over torch's intra-op threads.
//
// Inputs (float64, CPU): v0, p0 [B, N]; currents [T, B, N] [A]; tau [T, B, N] with a
// unit last stride (tau_0 [s] of each neuron and step: stride 0 over T and B without
// cycle-to-cycle noise); consts [K_CONSTS, N] (the per-neuron constants, in the order
// of enum Const below, built by bruno_hil.physics.fecap._kernel_constants); passive: the
// leak form (true: 2*I_0*A*sinh(V/V_t) + sign(V)*I_dsc, as expm1(x) - expm1(-x); false:
// the reference sign(V)*(I_0*A*expm1(V/V_t) + I_dsc)).
// Outputs: spike counts, V [V] and P [C/m^2] at the end of each step, [T, B, N].
#include <immintrin.h>
#include <sleef.h>
#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <vector>

extern "C" {
// MKL's VML, linked into libtorch_cpu (LP64: MKL_INT is int).
void vmdExp(int n, const double* a, double* r, long long mode);
void vmdLn(int n, const double* a, double* r, long long mode);
}

namespace {

// VML_HA | VML_FTZDAZ_OFF | VML_ERRMODE_IGNORE, the mode of torch's at::vml calls.
constexpr long long VML_MODE = 0x2 | 0x140000 | 0x100;
constexpr double RATIO_CAP = 1e10;  // bruno_hil.physics.fecap.RATIO_CAP
constexpr int64_t BLOCK = 512;      // neurons per block: the buffers stay in L1/L2

enum Const {
  EPS_INT,      // interlayer permittivity [1]
  T_INT_EPS0,   // t_int/eps0 [m^2/F]
  FIELD_DEN,    // t_hzo*eps_int + t_int*eps_hzo [m]
  E_A,          // Merz activation field [V/m]
  SOFT_E,       // softening of |E| [V/m]
  ALPHA,        // Merz exponent [1]
  P_S,          // saturation polarization [C/m^2]
  C_TOT,        // membrane capacitance [F]
  Q_AREA,       // plate charge per unit polarization k*A [m^2]
  LEAK_I0,      // I_0*A [A]
  V_T,          // leakage voltage scale [V]
  I_DSC,        // constant discharge [A]
  LIMIT_DEN,    // k*A*eps_int/C_tot + t_int/eps0 [m^2/F]
  V_CLIP,       // clipping bound [V]
  V_THR,        // threshold [V]
  V_RESET,      // reset voltage [V]
  K_CONSTS,
};

inline double sign(double x) { return static_cast<double>((x > 0.0) - (x < 0.0)); }

#ifdef __AVX512F__
// SLEEF's 8-lane u10 expm1: the same values as the 4-lane one torch calls (they agree on
// 6e7 test values over the arguments a fine step meets), at twice the speed.
constexpr int64_t LANES = 8;
inline void expm1_lanes(double* x) { _mm512_storeu_pd(x, Sleef_expm1d8_u10(_mm512_loadu_pd(x))); }
#else
constexpr int64_t LANES = 4;
inline void expm1_lanes(double* x) { _mm256_storeu_pd(x, Sleef_expm1d4_u10(_mm256_loadu_pd(x))); }
#endif

// x <- expm1(x) for m values, LANES at a time (the tail zero-padded, as at::vec::map).
void expm1_inplace(double* x, int64_t m) {
  int64_t j = 0;
  for (; j + LANES <= m; j += LANES) expm1_lanes(x + j);
  if (j < m) {
    double pad[LANES] = {};
    std::copy(x + j, x + m, pad);
    expm1_lanes(pad);
    std::copy(pad, pad + (m - j), x + j);
  }
}

// The first pass of a fine step over one row of n neurons (constants c [K_CONSTS, n]):
// the field e [V/m], the capped Merz ratio E_a/(|E|+soft_E) into x, V/V_t into em_v and
// -V/V_t into em_vn.
void row_field(int64_t n, const double* __restrict c, const double* __restrict v,
               const double* __restrict p, double* __restrict e, double* __restrict x,
               double* __restrict em_v, double* __restrict em_vn) {
  const double* __restrict eps_int = c + EPS_INT * n;
  const double* __restrict t_int_eps0 = c + T_INT_EPS0 * n;
  const double* __restrict field_den = c + FIELD_DEN * n;
  const double* __restrict e_a = c + E_A * n;
  const double* __restrict soft_e = c + SOFT_E * n;
  const double* __restrict v_t = c + V_T * n;
  for (int64_t i = 0; i < n; ++i) {
    const double ei = (v[i] * eps_int[i] - p[i] * t_int_eps0[i]) / field_den[i];
    const double ratio = e_a[i] / (std::fabs(ei) + soft_e[i]);
    e[i] = ei;
    x[i] = ratio < RATIO_CAP ? ratio : RATIO_CAP;
    em_v[i] = v[i] / v_t[i];
    em_vn[i] = -em_v[i];
  }
}

// The last pass of a fine step over one row: with em_p = expm1(-rate*h),
// em_v = expm1(V/V_t) and em_vn = expm1(-V/V_t) (passive leak only), the switched and
// membrane charge, the clips, spike and reset.
void row_update(int64_t n, const double* __restrict c, double h, bool passive,
                const double* __restrict cur, const double* __restrict e,
                const double* __restrict em_p, const double* __restrict em_v,
                const double* __restrict em_vn, double* __restrict v, double* __restrict p,
                double* __restrict count) {
  const double* __restrict eps_int = c + EPS_INT * n;
  const double* __restrict t_int_eps0 = c + T_INT_EPS0 * n;
  const double* __restrict p_s = c + P_S * n;
  const double* __restrict c_tot = c + C_TOT * n;
  const double* __restrict q_area = c + Q_AREA * n;
  const double* __restrict leak_i0 = c + LEAK_I0 * n;
  const double* __restrict i_dsc = c + I_DSC * n;
  const double* __restrict limit_den = c + LIMIT_DEN * n;
  const double* __restrict v_clip = c + V_CLIP * n;
  const double* __restrict v_thr = c + V_THR * n;
  const double* __restrict v_reset = c + V_RESET * n;
  for (int64_t i = 0; i < n; ++i) {
    const double vi = v[i], pi = p[i];
    const double dir = sign(e[i]);
    const double gap = std::fabs(dir * p_s[i] - pi);
    const double sw = gap * -em_p[i];
    const double leak = passive ? leak_i0[i] * (em_v[i] - em_vn[i]) + sign(vi) * i_dsc[i]
                                : sign(vi) * (leak_i0[i] * em_v[i] + i_dsc[i]);
    const double v_free = vi + h * (cur[i] - leak) / c_tot[i];
    const double limit = (v_free * eps_int[i] - pi * t_int_eps0[i]) / limit_den[i];
    double room = dir * limit;
    room = room > 0.0 ? room : 0.0;
    const double dp = dir * (sw < room ? sw : room);
    double p_next = pi + dp;
    p_next = p_next > -p_s[i] ? p_next : -p_s[i];
    p_next = p_next < p_s[i] ? p_next : p_s[i];
    double v_next = v_free - q_area[i] * (p_next - pi) / c_tot[i];
    v_next = v_next > -v_clip[i] ? v_next : -v_clip[i];
    v_next = v_next < v_clip[i] ? v_next : v_clip[i];
    const bool fired = v_next > v_thr[i];
    count[i] += fired ? 1.0 : 0.0;
    v[i] = fired ? v_reset[i] : v_next;
    p[i] = fired ? -p_s[i] : p_next;
  }
}

struct Problem {
  int64_t n_steps, n_batch, n, n_inner;
  double h;
  bool passive;
  const double *v0, *p0, *currents, *tau, *c;
  int64_t tau_st, tau_sb;
  double *out_s, *out_v, *out_p;
};

// Rows [b0, b1) of the batch through every network step; each fine step is a few passes
// over the block's m neurons, the math routines running on whole buffers.
void run_block(const Problem& q, int64_t b0, int64_t b1) {
  const int64_t n = q.n, m = (b1 - b0) * n;
  std::vector<double> buffers(9 * m);
  double* __restrict v = buffers.data();
  double* __restrict p = v + m;
  double* __restrict count = p + m;
  double* __restrict e = count + m;     // the field [V/m]
  double* __restrict x = e + m;         // ratio, log(ratio), ratio^alpha, exp(-ratio^alpha)
  double* __restrict em_p = x + m;      // -rate*h, then its expm1
  double* __restrict em_v = em_p + m;   // V/V_t, then its expm1
  double* __restrict em_vn = em_v + m;  // -V/V_t, then its expm1 (passive leak)
  double* __restrict tau_b = em_vn + m; // tau_0 [s] of the step
  std::copy(q.v0 + b0 * n, q.v0 + b1 * n, v);
  std::copy(q.p0 + b0 * n, q.p0 + b1 * n, p);
  const double* __restrict alpha = q.c + ALPHA * n;
  const double h = q.h;
  const int vml_n = static_cast<int>(m);
  for (int64_t t = 0; t < q.n_steps; ++t) {
    const int64_t base = (t * q.n_batch + b0) * n;
    const double* cur = q.currents + base;
    for (int64_t r = 0; r < b1 - b0; ++r) {
      std::copy_n(q.tau + t * q.tau_st + (b0 + r) * q.tau_sb, n, tau_b + r * n);
    }
    std::fill(count, count + m, 0.0);
    for (int64_t step = 0; step < q.n_inner; ++step) {
      for (int64_t r = 0; r < m; r += n) {
        row_field(n, q.c, v + r, p + r, e + r, x + r, em_v + r, em_vn + r);
      }
      vmdLn(vml_n, x, x, VML_MODE);
      for (int64_t r = 0; r < m; r += n) {
        for (int64_t i = 0; i < n; ++i) x[r + i] = alpha[i] * x[r + i];
      }
      vmdExp(vml_n, x, x, VML_MODE);
      for (int64_t j = 0; j < m; ++j) x[j] = -x[j];
      vmdExp(vml_n, x, x, VML_MODE);
      for (int64_t j = 0; j < m; ++j) em_p[j] = -(x[j] / tau_b[j]) * h;
      expm1_inplace(em_p, m);
      expm1_inplace(em_v, m);
      if (q.passive) expm1_inplace(em_vn, m);
      for (int64_t r = 0; r < m; r += n) {
        row_update(n, q.c, h, q.passive, cur + r, e + r, em_p + r, em_v + r, em_vn + r, v + r,
                   p + r, count + r);
      }
    }
    std::copy(count, count + m, q.out_s + base);
    std::copy(v, v + m, q.out_v + base);
    std::copy(p, p + m, q.out_p + base);
  }
}

void check(const at::Tensor& x, const char* name, int64_t dim) {
  TORCH_CHECK(x.device().is_cpu(), "fine kernel: ", name, " must be on the CPU");
  TORCH_CHECK(x.scalar_type() == at::kDouble, "fine kernel: ", name, " must be float64");
  TORCH_CHECK(x.dim() == dim, "fine kernel: ", name, " must have ", dim, " dimensions");
}

std::vector<at::Tensor> fine_trajectory(const at::Tensor& v0_in, const at::Tensor& p0_in,
                                        const at::Tensor& currents_in, const at::Tensor& tau,
                                        const at::Tensor& consts_in, double h,
                                        int64_t n_inner, bool passive) {
  check(v0_in, "v0", 2);
  check(p0_in, "p0", 2);
  check(currents_in, "currents", 3);
  check(tau, "tau", 3);
  check(consts_in, "consts", 2);
  const at::Tensor v0 = v0_in.contiguous(), p0 = p0_in.contiguous();
  const at::Tensor currents = currents_in.contiguous(), consts = consts_in.contiguous();
  const int64_t n_steps = currents.size(0), n_batch = currents.size(1), n = currents.size(2);
  TORCH_CHECK(v0.sizes() == p0.sizes() && v0.size(0) == n_batch && v0.size(1) == n,
              "fine kernel: state must be [B, N] = [", n_batch, ", ", n, "]");
  TORCH_CHECK(tau.sizes() == currents.sizes() && tau.stride(2) == 1,
              "fine kernel: tau must be [T, B, N] with a unit last stride");
  TORCH_CHECK(consts.size(0) == K_CONSTS && consts.size(1) == n,
              "fine kernel: consts must be [", int64_t(K_CONSTS), ", ", n, "]");
  TORCH_CHECK(n_inner > 0 && h > 0.0, "fine kernel: need n_inner > 0 and h > 0");
  at::Tensor out_s = at::empty_like(currents), out_v = at::empty_like(currents);
  at::Tensor out_p = at::empty_like(currents);
  const Problem q{n_steps,
                  n_batch,
                  n,
                  n_inner,
                  h,
                  passive,
                  v0.data_ptr<double>(),
                  p0.data_ptr<double>(),
                  currents.data_ptr<double>(),
                  tau.data_ptr<double>(),
                  consts.data_ptr<double>(),
                  tau.stride(0),
                  tau.stride(1),
                  out_s.data_ptr<double>(),
                  out_v.data_ptr<double>(),
                  out_p.data_ptr<double>()};
  const int64_t rows = std::max<int64_t>(1, BLOCK / std::max<int64_t>(n, 1));
  const int64_t n_blocks = (n_batch + rows - 1) / rows;
  at::parallel_for(0, n_blocks, 1, [&](int64_t k0, int64_t k1) {
    for (int64_t blk = k0; blk < k1; ++blk) {
      run_block(q, blk * rows, std::min(n_batch, (blk + 1) * rows));
    }
  });
  return {out_s, out_v, out_p};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("fine_trajectory", &fine_trajectory,
        "FeLIF fine forward: (spikes, V, P) [T, B, N] from the state, currents, tau_0 and "
        "per-neuron constants");
  m.attr("K_CONSTS") = static_cast<int64_t>(K_CONSTS);
}

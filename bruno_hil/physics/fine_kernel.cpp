// The FeLIF fine forward as one compiled loop: the equations of
// bruno_hil/physics/fecap.py (fecap_step, then spike and reset), operation for operation
// in the same order and with the same math routines as torch's CPU kernels, so that it
// agrees with the eager torch loop bit for bit:
//   exp, log: MKL VML in high-accuracy mode (torch's at::vml::vexp / vlog);
//   expm1:    SLEEF's 4-lane u10 routine (torch's Vectorized<double>::expm1);
//   + - * /, comparisons, min/max: IEEE double, no fused multiply-adds (-ffp-contract=off).
//
// The state of a block of batch rows lives in small buffers; each fine step runs a few
// passes over the block (arithmetic loops the compiler vectorizes, the math routines on
// whole buffers). Blocks are spread over torch's intra-op threads.
//
// Inputs (float64, CPU): v0, p0 [B, N]; currents [T, B, N] [A]; tau [T, B, N] with a
// unit last stride (tau_0 [s] of each neuron and step: stride 0 over T and B without
// cycle-to-cycle noise); consts [K_CONSTS, N] (the per-neuron constants, in the order
// of enum Const below, built by bruno_hil.physics.fecap._kernel_constants).
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
  AREA,         // capacitor area [m^2]
  LEAK_I0,      // I_0*A [A]
  V_T,          // leakage voltage scale [V]
  I_DSC,        // constant discharge [A]
  LIMIT_DEN,    // A*eps_int/C_tot + t_int/eps0 [m^2/F]
  V_CLIP,       // clipping bound [V]
  V_THR,        // threshold [V]
  V_RESET,      // reset voltage [V]
  K_CONSTS,
};

inline double sign(double x) { return static_cast<double>((x > 0.0) - (x < 0.0)); }

// x <- expm1(x) for m values, 4 lanes at a time (the tail zero-padded, as at::vec::map).
void expm1_inplace(double* x, int64_t m) {
  int64_t j = 0;
  for (; j + 4 <= m; j += 4) _mm256_storeu_pd(x + j, Sleef_expm1d4_u10(_mm256_loadu_pd(x + j)));
  if (j < m) {
    double pad[4] = {0.0, 0.0, 0.0, 0.0};
    std::copy(x + j, x + m, pad);
    _mm256_storeu_pd(pad, Sleef_expm1d4_u10(_mm256_loadu_pd(pad)));
    std::copy(pad, pad + (m - j), x + j);
  }
}

struct Problem {
  int64_t n_steps, n_batch, n, n_inner;
  double h;
  const double *v0, *p0, *currents, *tau, *c;
  int64_t tau_st, tau_sb;
  double *out_s, *out_v, *out_p;
};

// Rows [b0, b1) of the batch through every network step.
void run_block(const Problem& q, int64_t b0, int64_t b1) {
  const int64_t n = q.n, m = (b1 - b0) * n;
  std::vector<double> buffers(8 * m);
  double* __restrict v = buffers.data();
  double* __restrict p = v + m;
  double* __restrict count = p + m;
  double* __restrict e = count + m;  // field, then the Merz rate
  double* __restrict x = e + m;      // log(ratio), ratio^alpha, exp(-ratio^alpha)
  double* __restrict em_p = x + m;   // -rate*h, then its expm1
  double* __restrict em_v = em_p + m;  // V/V_t, then its expm1
  double* __restrict tau_row = em_v + m;
  std::copy(q.v0 + b0 * n, q.v0 + b1 * n, v);
  std::copy(q.p0 + b0 * n, q.p0 + b1 * n, p);
  const double* c = q.c;
  const auto k = [&](Const which) { return c + which * n; };
  const double *eps_int = k(EPS_INT), *t_int_eps0 = k(T_INT_EPS0), *field_den = k(FIELD_DEN);
  const double *e_a = k(E_A), *soft_e = k(SOFT_E), *alpha = k(ALPHA), *p_s = k(P_S);
  const double *c_tot = k(C_TOT), *area = k(AREA), *leak_i0 = k(LEAK_I0), *v_t = k(V_T);
  const double *i_dsc = k(I_DSC), *limit_den = k(LIMIT_DEN), *v_clip = k(V_CLIP);
  const double *v_thr = k(V_THR), *v_reset = k(V_RESET);
  const double h = q.h;
  for (int64_t t = 0; t < q.n_steps; ++t) {
    const int64_t base = (t * q.n_batch + b0) * n;
    const double* __restrict cur = q.currents + base;
    for (int64_t r = 0; r < b1 - b0; ++r) {
      std::copy_n(q.tau + t * q.tau_st + (b0 + r) * q.tau_sb, n, tau_row + r * n);
    }
    std::fill(count, count + m, 0.0);
    for (int64_t step = 0; step < q.n_inner; ++step) {
      for (int64_t r = 0; r < m; r += n) {
        for (int64_t i = 0; i < n; ++i) {
          const int64_t j = r + i;
          e[j] = (v[j] * eps_int[i] - p[j] * t_int_eps0[i]) / field_den[i];
          const double ratio = e_a[i] / (std::fabs(e[j]) + soft_e[i]);
          x[j] = ratio < RATIO_CAP ? ratio : RATIO_CAP;
          em_v[j] = v[j] / v_t[i];
        }
      }
      vmdLn(static_cast<int>(m), x, x, VML_MODE);
      for (int64_t r = 0; r < m; r += n) {
        for (int64_t i = 0; i < n; ++i) x[r + i] = alpha[i] * x[r + i];
      }
      vmdExp(static_cast<int>(m), x, x, VML_MODE);
      for (int64_t j = 0; j < m; ++j) x[j] = -x[j];
      vmdExp(static_cast<int>(m), x, x, VML_MODE);
      for (int64_t j = 0; j < m; ++j) em_p[j] = -(x[j] / tau_row[j]) * h;
      expm1_inplace(em_p, m);
      expm1_inplace(em_v, m);
      for (int64_t r = 0; r < m; r += n) {
        for (int64_t i = 0; i < n; ++i) {
          const int64_t j = r + i;
          const double vi = v[j], pi = p[j];
          const double dir = sign(e[j]);
          const double gap = std::fabs(dir * p_s[i] - pi);
          const double sw = gap * -em_p[j];
          const double leak = sign(vi) * (leak_i0[i] * em_v[j] + i_dsc[i]);
          const double v_free = vi + h * (cur[j] - leak) / c_tot[i];
          const double limit = (v_free * eps_int[i] - pi * t_int_eps0[i]) / limit_den[i];
          double room = dir * limit;
          room = room > 0.0 ? room : 0.0;
          const double dp = dir * (sw < room ? sw : room);
          double p_next = pi + dp;
          p_next = p_next > -p_s[i] ? p_next : -p_s[i];
          p_next = p_next < p_s[i] ? p_next : p_s[i];
          double v_next = v_free - area[i] * (p_next - pi) / c_tot[i];
          v_next = v_next > -v_clip[i] ? v_next : -v_clip[i];
          v_next = v_next < v_clip[i] ? v_next : v_clip[i];
          const bool fired = v_next > v_thr[i];
          count[j] += fired ? 1.0 : 0.0;
          v[j] = fired ? v_reset[i] : v_next;
          p[j] = fired ? -p_s[i] : p_next;
        }
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
                                        int64_t n_inner) {
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

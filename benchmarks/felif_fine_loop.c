/* The FeLIF fine forward as a plain vectorized C loop: the yardstick of
 * benchmarks/felif_fine.py. The same equations as bruno_hil/physics/fecap.py (fecap_step,
 * spike, reset; the default, passive leak form), one batch row at a time, a SIMD loop over the row's neurons with glibc's
 * vector exp, log and expm1 (libmvec); no torch, no bit-for-bit promise (the compiler may
 * fuse multiply-adds, libmvec rounds its own way).
 *
 * consts [K, N] are the per-neuron constants in the order of enum Const in
 * bruno_hil/physics/fine_kernel.cpp (bruno_hil.physics.fecap._kernel_constants).
 * Build: cc -O3 -march=native -fopenmp-simd -fno-math-errno -shared -fPIC felif_fine_loop.c
 *        -lmvec -lm (without -fno-math-errno gcc keeps the scalar exp, log, expm1) */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log(double);
#pragma omp declare simd notinbranch
double expm1(double);

enum {
  EPS_INT, T_INT_EPS0, FIELD_DEN, E_A, SOFT_E, ALPHA, P_S, C_TOT, Q_AREA, LEAK_I0, V_T,
  I_DSC, LIMIT_DEN, V_CLIP, V_THR, V_RESET, K_CONSTS
};

static inline double sgn(double x) { return (double)((x > 0.0) - (x < 0.0)); }

/* v, p [B, N] (updated in place); currents, tau, out_s, out_v, out_p [T, B, N]. */
void fine_loop(int64_t n_steps, int64_t n_batch, int64_t n, int64_t n_inner, double h,
               double *v_all, double *p_all, const double *currents, const double *tau,
               const double *c, double *out_s, double *out_v, double *out_p) {
  const double *eps_int = c + EPS_INT * n, *t_int_eps0 = c + T_INT_EPS0 * n;
  const double *field_den = c + FIELD_DEN * n, *e_a = c + E_A * n, *soft_e = c + SOFT_E * n;
  const double *alpha = c + ALPHA * n, *p_s = c + P_S * n, *c_tot = c + C_TOT * n;
  const double *q_area = c + Q_AREA * n, *leak_i0 = c + LEAK_I0 * n, *v_t = c + V_T * n;
  const double *i_dsc = c + I_DSC * n, *limit_den = c + LIMIT_DEN * n;
  const double *v_clip = c + V_CLIP * n, *v_thr = c + V_THR * n, *v_reset = c + V_RESET * n;
  double *count = malloc(sizeof(double) * n);
  for (int64_t b = 0; b < n_batch; ++b) {
    double *restrict v = v_all + b * n, *restrict p = p_all + b * n;
    for (int64_t t = 0; t < n_steps; ++t) {
      const int64_t row = (t * n_batch + b) * n;
      const double *restrict cur = currents + row, *restrict tau_t = tau + row;
      for (int64_t i = 0; i < n; ++i) count[i] = 0.0;
      for (int64_t k = 0; k < n_inner; ++k) {
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) {
          const double vi = v[i], pi = p[i];
          const double e = (vi * eps_int[i] - pi * t_int_eps0[i]) / field_den[i];
          const double dir = sgn(e);
          double ratio = e_a[i] / (fabs(e) + soft_e[i]);
          ratio = ratio < 1e10 ? ratio : 1e10;
          const double rate = exp(-exp(alpha[i] * log(ratio))) / tau_t[i];
          const double sw = fabs(dir * p_s[i] - pi) * -expm1(-rate * h);
          const double x = vi / v_t[i];  /* the default (passive) leak form */
          const double leak = leak_i0[i] * (expm1(x) - expm1(-x)) + sgn(vi) * i_dsc[i];
          const double v_free = vi + h * (cur[i] - leak) / c_tot[i];
          const double limit = (v_free * eps_int[i] - pi * t_int_eps0[i]) / limit_den[i];
          double room = dir * limit;
          room = room > 0.0 ? room : 0.0;
          double p_next = pi + dir * (sw < room ? sw : room);
          p_next = p_next > -p_s[i] ? p_next : -p_s[i];
          p_next = p_next < p_s[i] ? p_next : p_s[i];
          double v_next = v_free - q_area[i] * (p_next - pi) / c_tot[i];
          v_next = v_next > -v_clip[i] ? v_next : -v_clip[i];
          v_next = v_next < v_clip[i] ? v_next : v_clip[i];
          const int fired = v_next > v_thr[i];
          count[i] += fired ? 1.0 : 0.0;
          v[i] = fired ? v_reset[i] : v_next;
          p[i] = fired ? -p_s[i] : p_next;
        }
      }
      for (int64_t i = 0; i < n; ++i) {
        out_s[row + i] = count[i];
        out_v[row + i] = v[i];
        out_p[row + i] = p[i];
      }
    }
  }
  free(count);
}

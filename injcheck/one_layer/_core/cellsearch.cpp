// Compiled core of the one-layer cell search (count budget, rows of W without zeros).
//
// The search is the one of gordan.py: a depth-first tree over sets A of rows allowed to
// be non-negative; at a node either a Gordan certificate (a set C of rows with 0 in the
// relative interior of their convex hull, C disjoint from A) exists, and every witness
// below must release a row of C, or the open cone {w_i x < 0, i not in A} is non-empty.
// What the core adds:
//   * a dense simplex for the certificate LP (n + 1 rows, <= m columns), warm-started from
//     the previous LP's basis (WarmLP), a cold two-phase tableau (TableauLP) as fallback;
//   * every certificate is re-checked in safe floating point before it is used: the
//     square system [W_C^T; 1] lam = e_{n+1} (raw rows of W, exact doubles) is solved and
//     a rigorous a-posteriori error bound (Rump-style, with an approximate inverse) must
//     show every exact lam_i > 0. It never prunes on an unchecked certificate: a node
//     whose LP gives none that passes (0 within rounding of the hull's boundary: two
//     layers in the study's ~2e9 LPs at n = 14-15) is branched on every free row when deciding,
//     and otherwise stops the search with "trouble";
//   * active certificates are kept incrementally: a child inherits its parent's list
//     minus the certificates containing the released row, and scans only the pool entries
//     added since the parent scanned;
//   * bounds: disjoint packing (as gordan.py); the transversal bound where the packing
//     falls one certificate short of a prune (transversal_bound); and, off by default, an
//     exact hitting-set bound over the active certificates (a small branch and bound on
//     bitsets with a node budget). Both integral bounds run an implicit-hitting-set loop:
//     a candidate set is tested by the LP and either is a witness or yields a new
//     certificate that joins the family;
//   * branching on the certificate with the fewest free rows, the smallest active one or
//     the LP's (least weight on the free rows), whichever is smaller;
//   * for P*: a proven lower bound that ends a minimisation, and a local search (improve)
//     that gives the upper bound and polishes every witness found while minimising.
// Witnesses are returned as allowed sets; Python turns them into points and verifies them.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

constexpr int kMaxWords = 4;  // m <= 256 rows
using Bits = std::array<uint64_t, kMaxWords>;

inline bool test(const Bits& b, int i) { return (b[i >> 6] >> (i & 63)) & 1ULL; }
inline void set(Bits& b, int i) { b[i >> 6] |= 1ULL << (i & 63); }
inline Bits zero_bits() { return Bits{0, 0, 0, 0}; }
inline bool disjoint(const Bits& a, const Bits& b) {
  return ((a[0] & b[0]) | (a[1] & b[1]) | (a[2] & b[2]) | (a[3] & b[3])) == 0;
}
inline Bits and_not(const Bits& a, const Bits& b) {
  return Bits{a[0] & ~b[0], a[1] & ~b[1], a[2] & ~b[2], a[3] & ~b[3]};
}
inline Bits or_bits(const Bits& a, const Bits& b) {
  return Bits{a[0] | b[0], a[1] | b[1], a[2] | b[2], a[3] | b[3]};
}
inline Bits operator&(const Bits& a, const Bits& b) {
  return Bits{a[0] & b[0], a[1] & b[1], a[2] & b[2], a[3] & b[3]};
}
inline int popcount(const Bits& a) {
  return __builtin_popcountll(a[0]) + __builtin_popcountll(a[1]) + __builtin_popcountll(a[2]) +
         __builtin_popcountll(a[3]);
}
template <class F>
inline void for_each_bit(const Bits& a, F f) {
  for (int w = 0; w < kMaxWords; ++w) {
    uint64_t v = a[w];
    while (v) {
      int b = __builtin_ctzll(v);
      f(w * 64 + b);
      v &= v - 1;
    }
  }
}

// Thrown when the search must stop: the wall-clock deadline passed (by_nodes false), or the
// node limit was reached (by_nodes true; a limit that gives the same answer on any machine).
struct Timeout {
  bool by_nodes = false;
};
struct Trouble {
  std::string what;
};

// ------------------------------------------------------------------ certificate LP
// min c^T lam  s.t.  [U^T; 1^T] lam = e_{n+1},  lam >= 0, over the columns not excluded.
// Dense tableau, two phases, Dantzig pricing with a switch to Bland's rule against cycling.
class TableauLP {
 public:
  TableauLP(int m, int n, const std::vector<double>& unit) : m_(m), n_(n), unit_(unit) {}

  // Returns true and the basic columns (as row indices of W) with their values when a
  // certificate exists; false when the system is infeasible (the cone is non-empty).
  bool solve(const Bits& excluded, const Bits& zero_cost, std::vector<int>& support,
             std::vector<double>& values) {
    ++solves;
    cols_.clear();
    for (int i = 0; i < m_; ++i)
      if (!test(excluded, i)) cols_.push_back(i);
    const int k = static_cast<int>(cols_.size());
    const int r = n_ + 1;
    width_ = k + r + 1;  // structural, artificial, rhs
    tab_.assign(static_cast<size_t>(r + 1) * width_, 0.0);  // last row: objective
    for (int j = 0; j < k; ++j) {
      const double* u = &unit_[static_cast<size_t>(cols_[j]) * n_];
      for (int i = 0; i < n_; ++i) at(i, j) = u[i];
      at(n_, j) = 1.0;
    }
    for (int i = 0; i < r; ++i) at(i, k + i) = 1.0;
    at(n_, width_ - 1) = 1.0;
    basis_.resize(r);
    for (int i = 0; i < r; ++i) basis_[i] = k + i;
    // Phase 1: minimise the sum of artificials; objective row = -(sum of constraint rows).
    for (int j = 0; j < width_; ++j) {
      double s = 0.0;
      for (int i = 0; i < r; ++i) s += at(i, j);
      at(r, j) = (j >= k && j < k + r) ? 0.0 : -s;
    }
    run(k + r);
    if (-at(r, width_ - 1) > 1e-9) return false;  // phase-1 optimum > 0: no certificate
    // Drive remaining artificials out of the basis.
    for (int i = 0; i < r; ++i) {
      if (basis_[i] < k) continue;
      int best = -1;
      double big = 1e-9;
      for (int j = 0; j < k; ++j)
        if (std::fabs(at(i, j)) > big) big = std::fabs(at(i, j)), best = j;
      if (best < 0) throw Trouble{"certificate LP: redundant row (rows of W not generic?)"};
      pivot(i, best);
    }
    // Phase 2: real costs on structural columns; artificials never enter again.
    for (int j = 0; j < width_; ++j) at(r, j) = 0.0;
    for (int j = 0; j < k; ++j) at(r, j) = test(zero_cost, cols_[j]) ? 0.0 : 1.0;
    for (int i = 0; i < r; ++i) {
      const double cb = at(r, basis_[i]);
      if (cb != 0.0)
        for (int j = 0; j < width_; ++j) at(r, j) -= cb * at(i, j);
    }
    run(k);
    support.clear();
    values.clear();
    for (int i = 0; i < r; ++i) {
      support.push_back(cols_[basis_[i]]);
      values.push_back(at(i, width_ - 1));
    }
    return true;
  }

  long solves = 0;
  long pivots = 0;

 private:
  double& at(int i, int j) { return tab_[static_cast<size_t>(i) * width_ + j]; }

  void pivot(int row, int col) {
    ++pivots;
    const int r = n_ + 1;
    const double p = at(row, col);
    for (int j = 0; j < width_; ++j) at(row, j) /= p;
    at(row, col) = 1.0;
    for (int i = 0; i <= r; ++i) {
      if (i == row) continue;
      const double f = at(i, col);
      if (f == 0.0) continue;
      for (int j = 0; j < width_; ++j) at(i, j) -= f * at(row, j);
      at(i, col) = 0.0;
    }
    basis_[row] = col;
  }

  // Minimise over entering candidates [0, enter_end).
  void run(int enter_end) {
    const int r = n_ + 1;
    int degenerate = 0;
    for (int iter = 0; iter < 50 * (r + enter_end) + 1000; ++iter) {
      const bool bland = degenerate > 2 * r;
      int e = -1;
      double best = -1e-10;
      for (int j = 0; j < enter_end; ++j) {
        const double d = at(r, j);
        if (d < best) {
          e = j;
          if (bland) break;
          best = d;
        }
      }
      if (e < 0) return;
      int leave = -1;
      double ratio = std::numeric_limits<double>::infinity(), piv = 0.0;
      for (int i = 0; i < r; ++i) {
        const double a = at(i, e);
        if (a <= 1e-11) continue;
        const double t = std::max(at(i, width_ - 1), 0.0) / a;
        if (t < ratio - 1e-12 ||
            (t <= ratio + 1e-12 && (bland ? basis_[i] < basis_[leave] : a > piv))) {
          ratio = t, leave = i, piv = a;
        }
      }
      if (leave < 0) throw Trouble{"certificate LP: unbounded ray (cannot happen)"};
      degenerate = ratio <= 1e-12 ? degenerate + 1 : 0;
      pivot(leave, e);
    }
    throw Trouble{"certificate LP: iteration limit"};
  }

  int m_, n_;
  const std::vector<double>& unit_;
  std::vector<int> cols_;
  std::vector<int> basis_;
  std::vector<double> tab_;
  int width_ = 0;
};

// ------------------------------------------------------------------ warm-started LP
// out -= y * a over m entries (the hot loop of pricing). On x86-64, GCC also builds an AVX2
// copy chosen at run time (1.1x at n = 13); AVX2 has no fused multiply-add, so both copies
// compute the same numbers and the search takes the same path on every machine.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
__attribute__((target_clones("avx2", "default")))
#endif
void axpy(double* __restrict out, const double* __restrict a, double y, int m) {
  for (int j = 0; j < m; ++j) out[j] -= y * a[j];
}

// The same LP as TableauLP, by a revised simplex (explicit inverse of the (n+1) x (n+1)
// basis, refactored at every solve) started from the basis of the previous solve. Columns
// of that basis that are now excluded are kept as phase-1 artificials (the basis stays
// primal feasible: they are the same columns), phase 1 minimises their sum and they never
// re-enter. Any doubt (a singular or infeasible start, a basic excluded column that cannot
// be driven out, the iteration limit) falls back to the cold TableauLP, which also gives
// the first basis. Every certificate is safe-checked by the search as before.
class WarmLP {
 public:
  WarmLP(int m, int n, const std::vector<double>& unit, bool warm)
      : m_(m), r_(n + 1), warm_(warm), cold_(m, n, unit) {
    cols_.resize(static_cast<size_t>(m) * r_);
    for (int j = 0; j < m; ++j) {
      for (int i = 0; i < n; ++i) cols_[j * r_ + i] = unit[static_cast<size_t>(j) * n + i];
      cols_[j * r_ + n] = 1.0;
    }
    // The same columns row by row (r x m): pricing runs over j innermost (vectorised).
    rows_.resize(cols_.size());
    for (int j = 0; j < m; ++j)
      for (int k = 0; k < r_; ++k) rows_[static_cast<size_t>(k) * m + j] = cols_[j * r_ + k];
    binv_.resize(static_cast<size_t>(r_) * r_);
    xb_.resize(r_), y_.resize(r_), alpha_.resize(r_), cost_.resize(m), red_.resize(m);
  }

  // feasible_only: the warm path stops at the first feasible basis (phase 1 only). Any
  // feasible basis is a certificate candidate (the safe check proves it or rejects it),
  // so phase 2's preference for forbidden rows is a heuristic, not needed for soundness.
  bool solve(const Bits& excluded, const Bits& zero_cost, std::vector<int>& support,
             std::vector<double>& values, bool cold = false, bool feasible_only = false) {
    ++solves;
    if (cold ||
        !(warm_ && have_basis_ && warm(excluded, zero_cost, support, values, feasible_only))) {
      ++cold_solves;
      const long before = cold_.pivots;
      const bool ok = cold_.solve(excluded, zero_cost, support, values);
      pivots += cold_.pivots - before;
      have_basis_ = ok && static_cast<int>(support.size()) == r_;
      if (have_basis_) basis_ = support;
      factored_ = false;
      return ok;
    }
    return feasible_;
  }

  long solves = 0, pivots = 0, cold_solves = 0;

 private:
  // False: no answer (use the cold LP). True: feasible_ holds the answer.
  bool warm(const Bits& excluded, const Bits& zero_cost, std::vector<int>& support,
            std::vector<double>& values, bool feasible_only) {
    // The inverse is updated pivot by pivot; it is recomputed after a cold solve and every
    // few dozen pivots, so that rounding does not accumulate.
    if (!factored_ || since_factor_ > 60) {
      if (!factor()) return false;
      factored_ = true, since_factor_ = 0;
    }
    for (int i = 0; i < r_; ++i)
      if (xb_[i] < -1e-9) return false;
    // Phase 1: cost 1 on the basic excluded columns; only allowed columns may enter.
    std::fill(cost_.begin(), cost_.end(), 0.0);
    bool any = false;
    for (int b : basis_)
      if (test(excluded, b)) cost_[b] = 1.0, any = true;
    if (any) {
      if (!run(excluded)) return false;
      double art = 0.0;
      for (int i = 0; i < r_; ++i)
        if (test(excluded, basis_[i])) art += xb_[i];
      if (art > 1e-9) {  // no certificate among the allowed columns
        feasible_ = false;
        return true;
      }
      if (!drive_out(excluded)) return false;
    }
    if (feasible_only) {
      support = basis_;
      values = xb_;
      feasible_ = true;
      return true;
    }
    // Phase 2: cost 1 off the zero-cost (forbidden) rows, as the cold LP.
    for (int j = 0; j < m_; ++j) cost_[j] = test(zero_cost, j) ? 0.0 : 1.0;
    if (!run(excluded)) return false;
    support = basis_;
    values = xb_;
    feasible_ = true;
    return true;
  }

  // Inverse of the basis by Gauss-Jordan with partial pivoting; x_B = B^-1 e_{n+1}.
  bool factor() {
    const int r = r_;
    std::vector<double>& a = work_;
    a.assign(static_cast<size_t>(r) * r, 0.0);
    for (int i = 0; i < r; ++i)
      for (int j = 0; j < r; ++j) a[i * r + j] = cols_[basis_[j] * r + i];
    std::fill(binv_.begin(), binv_.end(), 0.0);
    for (int i = 0; i < r; ++i) binv_[i * r + i] = 1.0;
    for (int c = 0; c < r; ++c) {
      int p = c;
      for (int i = c + 1; i < r; ++i)
        if (std::fabs(a[i * r + c]) > std::fabs(a[p * r + c])) p = i;
      if (std::fabs(a[p * r + c]) < 1e-10) return false;
      if (p != c)
        for (int j = 0; j < r; ++j)
          std::swap(a[p * r + j], a[c * r + j]), std::swap(binv_[p * r + j], binv_[c * r + j]);
      const double d = 1.0 / a[c * r + c];
      for (int j = 0; j < r; ++j) a[c * r + j] *= d, binv_[c * r + j] *= d;
      for (int i = 0; i < r; ++i) {
        if (i == c) continue;
        const double f = a[i * r + c];
        if (f == 0.0) continue;
        double* __restrict ai = &a[i * r];
        const double* __restrict ac = &a[c * r];
        double* __restrict bi = &binv_[i * r];
        const double* __restrict bc = &binv_[c * r];
        for (int j = 0; j < r; ++j) ai[j] -= f * ac[j];
        for (int j = 0; j < r; ++j) bi[j] -= f * bc[j];
      }
    }
    for (int i = 0; i < r; ++i) xb_[i] = binv_[i * r + r - 1];
    return true;
  }

  void column(int j) {  // alpha = B^-1 a_j
    const double* a = &cols_[static_cast<size_t>(j) * r_];
    for (int i = 0; i < r_; ++i) {
      double s = 0.0;
      for (int k = 0; k < r_; ++k) s += binv_[i * r_ + k] * a[k];
      alpha_[i] = s;
    }
  }

  void pivot(int row, int col) {
    ++pivots, ++since_factor_;
    const int r = r_;
    const double p = alpha_[row];
    for (int k = 0; k < r; ++k) binv_[row * r + k] /= p;
    xb_[row] /= p;
    const double* __restrict prow = &binv_[row * r];  // distinct from every row i below
    for (int i = 0; i < r; ++i) {
      if (i == row || alpha_[i] == 0.0) continue;
      const double f = alpha_[i];
      double* __restrict bi = &binv_[i * r];
      for (int k = 0; k < r; ++k) bi[k] -= f * prow[k];
      xb_[i] -= f * xb_[row];
    }
    basis_[row] = col;
  }

  // Minimise cost_ over the allowed columns from the current basis (Dantzig pricing,
  // Bland's rule after a run of degenerate pivots). False on the iteration limit.
  bool run(const Bits& excluded) {
    const int r = r_;
    int degenerate = 0;
    Bits in_basis = zero_bits();
    for (int b : basis_) set(in_basis, b);
    for (int iter = 0; iter < 50 * (r + m_) + 1000; ++iter) {
      // y = c_B^T B^-1, row by row of B^-1 (contiguous; the same sums in the same order).
      std::fill(y_.begin(), y_.end(), 0.0);
      for (int i = 0; i < r; ++i) {
        const double c = cost_[basis_[i]];
        if (c != 0.0) axpy(y_.data(), &binv_[static_cast<size_t>(i) * r], -c, r);
      }
      const bool bland = degenerate > 2 * r;
      // Reduced costs of every column at once, row by row (contiguous, vectorised).
      std::copy(cost_.begin(), cost_.end(), red_.begin());
      for (int k = 0; k < r; ++k) axpy(red_.data(), &rows_[static_cast<size_t>(k) * m_], y_[k], m_);
      const double* red = red_.data();
      int e = -1;
      double best = -1e-10;
      for (int j = 0; j < m_; ++j) {
        const double d = red[j];
        if (d >= best || test(excluded, j) || test(in_basis, j)) continue;
        {
          e = j;
          if (bland) break;
          best = d;
        }
      }
      if (e < 0) return true;
      column(e);
      int leave = -1;
      double ratio = std::numeric_limits<double>::infinity(), piv = 0.0;
      for (int i = 0; i < r; ++i) {
        const double a = alpha_[i];
        if (a <= 1e-11) continue;
        const double t = std::max(xb_[i], 0.0) / a;
        if (t < ratio - 1e-12 ||
            (t <= ratio + 1e-12 && (bland ? basis_[i] < basis_[leave] : a > piv))) {
          ratio = t, leave = i, piv = a;
        }
      }
      if (leave < 0) return false;  // unbounded: cannot happen (sum of lam is 1)
      degenerate = ratio <= 1e-12 ? degenerate + 1 : 0;
      in_basis[basis_[leave] >> 6] &= ~(1ULL << (basis_[leave] & 63));
      set(in_basis, e);
      pivot(leave, e);
    }
    return false;
  }

  // Pivot basic excluded columns (at zero after phase 1) out for allowed ones.
  bool drive_out(const Bits& excluded) {
    Bits in_basis = zero_bits();
    for (int b : basis_) set(in_basis, b);
    for (int i = 0; i < r_; ++i) {
      if (!test(excluded, basis_[i])) continue;
      int best = -1;
      double big = 1e-9;
      for (int j = 0; j < m_; ++j) {
        if (test(excluded, j) || test(in_basis, j)) continue;
        double s = 0.0;  // row i of B^-1 times a_j
        for (int k = 0; k < r_; ++k) s += binv_[i * r_ + k] * cols_[j * r_ + k];
        if (std::fabs(s) > big) big = std::fabs(s), best = j;
      }
      if (best < 0) return false;
      column(best);
      in_basis[basis_[i] >> 6] &= ~(1ULL << (basis_[i] & 63));
      set(in_basis, best);
      pivot(i, best);
    }
    return true;
  }

  int m_, r_;
  bool warm_;
  TableauLP cold_;
  std::vector<double> cols_, rows_, binv_, xb_, y_, alpha_, cost_, red_, work_;
  std::vector<int> basis_;
  bool have_basis_ = false, feasible_ = false, factored_ = false;
  int since_factor_ = 0;
};

// ------------------------------------------------------------------ safe certificate check
// True when the exact solution of [W_S^T; 1] lam = e (S = support, |S| = n + 1, raw rows)
// is provably positive. Bounds: X ~ inverse(M), delta >= ||I - X M||, err >= ||M^-1|| ||e - M
// lam~|| with M^-1 bounded by ||X|| / (1 - delta). Each float sum of k non-negative terms is
// inflated by a factor (1 + 1e-10) and each computed residual by 1e-13 times its absolute
// size; both are orders of magnitude above the rounding error bound gamma_k = k u / (1 - k u)
// for k <= 300 and u = 2^-53.
bool certificate_is_safe(int n, const std::vector<double>& raw, const std::vector<int>& support,
                         std::vector<double>& lam_out) {
  const int r = n + 1;
  if (static_cast<int>(support.size()) != r) return false;
  // Scratch kept per thread (this runs for every new certificate: no allocation each time).
  thread_local std::vector<double> M, X, LU, lam;
  M.assign(r * r, 0.0), X.assign(r * r, 0.0), LU.assign(r * r, 0.0), lam.assign(r, 0.0);
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < r; ++j) M[i * r + j] = i < n ? raw[support[j] * n + i] : 1.0;
  // Approximate inverse by Gauss-Jordan with partial pivoting.
  LU = M;
  for (int i = 0; i < r; ++i) X[i * r + i] = 1.0;
  for (int c = 0; c < r; ++c) {
    int p = c;
    for (int i = c + 1; i < r; ++i)
      if (std::fabs(LU[i * r + c]) > std::fabs(LU[p * r + c])) p = i;
    if (LU[p * r + c] == 0.0) return false;
    if (p != c)
      for (int j = 0; j < r; ++j) std::swap(LU[p * r + j], LU[c * r + j]), std::swap(X[p * r + j], X[c * r + j]);
    const double d = LU[c * r + c];
    for (int j = 0; j < r; ++j) LU[c * r + j] /= d, X[c * r + j] /= d;
    for (int i = 0; i < r; ++i) {
      if (i == c) continue;
      const double f = LU[i * r + c];
      if (f == 0.0) continue;
      // Distinct rows of distinct arrays: restrict lets the compiler vectorise. Columns
      // before c are zero in row c already (eliminated, exactly), so they are skipped.
      double* __restrict li = &LU[i * r];
      const double* __restrict lc = &LU[c * r];
      double* __restrict xi = &X[i * r];
      const double* __restrict xc = &X[c * r];
      for (int j = c; j < r; ++j) li[j] -= f * lc[j];
      for (int j = 0; j < r; ++j) xi[j] -= f * xc[j];
    }
  }
  const double infl = 1.0 + 1e-10, g = 1e-13;
  // delta >= ||I - X M||_inf. Row i of X M is built as a sum of rows of M (contiguous, so
  // the compiler vectorises it); g * a covers the rounding of any order of the sums.
  thread_local std::vector<double> s, a;
  s.resize(r), a.resize(r);
  double delta = 0.0, normx = 0.0;
  for (int i = 0; i < r; ++i) {
    std::fill(s.begin(), s.end(), 0.0);
    std::fill(a.begin(), a.end(), 0.0);
    double xs = 0.0;
    for (int k = 0; k < r; ++k) {
      const double xik = X[i * r + k];
      const double* mk = &M[k * r];
      for (int j = 0; j < r; ++j) {
        const double prod = xik * mk[j];
        s[j] -= prod, a[j] += std::fabs(prod);
      }
      xs += std::fabs(xik);
    }
    s[i] += 1.0, a[i] += 1.0;
    double row = 0.0;
    for (int j = 0; j < r; ++j) row += std::fabs(s[j]) + g * a[j];
    delta = std::max(delta, row * infl);
    normx = std::max(normx, xs * infl);
  }
  if (!(delta < 0.5)) return false;
  // lam~ = X e (last column of X), residual e - M lam~.
  for (int i = 0; i < r; ++i) lam[i] = X[i * r + r - 1];
  double res = 0.0;
  for (int i = 0; i < r; ++i) {
    double s = (i == r - 1) ? 1.0 : 0.0, a = std::fabs(s);
    for (int k = 0; k < r; ++k) s -= M[i * r + k] * lam[k], a += std::fabs(M[i * r + k] * lam[k]);
    res = std::max(res, (std::fabs(s) + g * a) * infl);
  }
  const double err = normx / (1.0 - delta) * res * infl * infl;
  double low = std::numeric_limits<double>::infinity();
  for (double v : lam) low = std::min(low, v);
  if (!(low > err)) return false;
  lam_out = lam;
  return true;
}

// ------------------------------------------------------------------ the search
// Degree bound for hitting sets: `room` rows hit at most the sum of their `room` largest
// degrees (numbers of sets containing them); fewer than the number of sets: no hitting set.
inline bool degree_bound_exceeds(const std::vector<const Bits*>& sets, int room, int m,
                                 std::vector<int>& degree) {
  degree.assign(m, 0);
  for (const Bits* b : sets) for_each_bit(*b, [&](int i) { ++degree[i]; });
  if (room >= m) return false;
  std::nth_element(degree.begin(), degree.begin() + room, degree.end(), std::greater<int>());
  long top = 0;
  for (int i = 0; i < room; ++i) top += degree[i];
  return top < static_cast<long>(sets.size());
}

// Work limits of the transversal bound per node (measured at n = 12: 50-1000 nodes and
// 1-16 LPs change the search time by under 5%).
constexpr long kTransversalNodes = 200;
constexpr int kTransversalLPs = 4;
// The packing is extended by LPs only when the pool's packing is fewer than this many parts
// short of a prune.
constexpr int kExtendWithin = 3;

class Search {
 public:
  Search(py::array_t<double, py::array::c_style | py::array::forcecast> weight, int limit,
         bool packing, int hs_room, long hs_budget, int hs_rounds, int hs_family, int act_cap,
         bool minimise, double time_limit, bool proof, int lower, bool warm_lp, bool transversal,
         bool lp_branch)
      : proof_(proof && !minimise), transversal_(transversal), lp_branch_(lp_branch),
        limit_(limit), lower_(lower), packing_(packing), hs_room_(hs_room), hs_budget_(hs_budget),
        hs_rounds_(hs_rounds), hs_family_(hs_family), act_cap_(act_cap), minimise_(minimise) {
    auto w = weight.unchecked<2>();
    m_ = static_cast<int>(w.shape(0));
    n_ = static_cast<int>(w.shape(1));
    if (m_ > 64 * kMaxWords) throw std::invalid_argument("the compiled core handles m <= 256");
    raw_.resize(static_cast<size_t>(m_) * n_);
    unit_.resize(raw_.size());
    for (int i = 0; i < m_; ++i) {
      double s = 0.0;
      for (int j = 0; j < n_; ++j) raw_[i * n_ + j] = w(i, j), s += w(i, j) * w(i, j);
      s = std::sqrt(s);
      if (s == 0.0) throw std::invalid_argument("the compiled core needs W without zero rows");
      for (int j = 0; j < n_; ++j) unit_[i * n_ + j] = w(i, j) / s;
    }
    lp_ = std::make_unique<WarmLP>(m_, n_, unit_, warm_lp);
    deadline_ = time_limit > 0 ? clock::now() + std::chrono::duration_cast<clock::duration>(
                                                     std::chrono::duration<double>(time_limit))
                               : clock::time_point::max();
  }

  // Runs the search without the GIL; outcome "found" (best allowed set in found_rows),
  // "exhausted", "timeout" or "trouble".
  void search() {
    const auto start = clock::now();
    try {
      std::vector<int> act;
      const bool hit = node(start_allowed_, popcount(start_allowed_), start_forbidden_, act, 0);
      outcome_ = (hit || have_best_) ? "found" : "exhausted";
    } catch (const Timeout& t) {
      outcome_ = t.by_nodes ? "node-limit" : "timeout";
      message_ = t.by_nodes ? "node limit reached (" + std::to_string(node_limit_) + " nodes)"
                            : "time limit reached";
    } catch (const Trouble& t) {
      outcome_ = "trouble";
      message_ = t.what;
    }
    seconds_ = std::chrono::duration<double>(clock::now() - start).count();
  }

  py::dict result() const {
    const std::string& outcome = outcome_;
    const std::string& message = message_;
    py::dict out;
    out["outcome"] = outcome;
    out["message"] = message;
    py::list rows;
    if (have_best_) for_each_bit(best_, [&](int i) { rows.append(i); });
    out["found_rows"] = rows;
    out["limit"] = limit_;
    py::dict stats;
    stats["nodes"] = nodes_;
    stats["lps"] = lp_->solves;
    stats["pivots"] = lp_->pivots;
    stats["cold_lps"] = lp_->cold_solves;
    stats["certificates"] = static_cast<long>(pool_.size());
    stats["pruned_by_packing"] = pruned_packing_;
    stats["pruned_by_hitting_set"] = pruned_hs_;
    stats["pruned_by_degree"] = pruned_degree_;
    stats["pruned_by_transversal"] = pruned_tr_;
    stats["transversal_nodes"] = tr_nodes_;
    stats["hitting_set_nodes"] = hs_nodes_;
    stats["rejected_certificates"] = rejected_;
    stats["doubtful_nodes"] = doubtful_;
    stats["search_time"] = seconds_;
    stats["heuristic_nodes"] = heuristic_nodes_;
    stats["heuristic_searches"] = heuristic_searches_;
    out["stats"] = stats;
    return out;
  }

  // Start the search at the node (allowed, forbidden) instead of the root: the subtree of
  // sets A' with allowed <= A' and A' disjoint from forbidden (used to split the tree).
  void start_at(const std::vector<int>& allowed, const std::vector<int>& forbidden) {
    start_allowed_ = zero_bits();
    start_forbidden_ = zero_bits();
    for (int i : allowed) set(start_allowed_, check_row(i));
    for (int i : forbidden) set(start_forbidden_, check_row(i));
  }

  // A safe-checked certificate missing the allowed rows (least weight on the rows not
  // forbidden), or an empty list when none exists (the allowed set is then a witness).
  // Used to split the tree; the pool is left empty.
  std::vector<int> certificate_at(const std::vector<int>& allowed,
                                  const std::vector<int>& forbidden) {
    Bits a = zero_bits(), f = zero_bits();
    for (int i : allowed) set(a, check_row(i));
    for (int i : forbidden) set(f, check_row(i));
    std::vector<int> rows;
    const int c = new_certificate(a, f);
    if (c == kDoubt) throw Trouble{kDoubtMessage};
    if (c >= 0) for_each_bit(pool_[c], [&](int i) { rows.push_back(i); });
    pool_.clear();
    return rows;
  }

  // Tests only, so that the rare doubtful paths run on ordinary layers: every k-th node
  // (k > 0) without an active certificate and with room for a row is taken as doubtful
  // or, with `anywhere`, every k-th call for a certificate wherever it is made.
  void set_doubt_every(long k, bool anywhere) {
    doubt_every_ = k, doubt_clock_ = 0, doubt_anywhere_ = anywhere;
  }

  // A new count limit for the next run (after improve() found a better upper bound).
  void set_limit(int limit) { limit_ = limit; }

  // Stop after `limit` nodes (0: no limit), including those of improve(). Nodes are a unit
  // of work that does not depend on the machine or its load, unlike the deadline.
  void set_node_limit(long limit) { node_limit_ = limit; }

  // The proof trace (empty unless built with proof=True); see kBranch below.
  std::vector<int> trace() const { return trace_; }

  // Rows of every certificate found so far (each passed the safe check).
  py::list certificates() const {
    py::list out;
    for (size_t c = 0; c < pool_.size(); ++c) {
      py::list rows;
      for_each_bit(pool_[c], [&](int i) { rows.append(i); });
      out.append(rows);
    }
    return out;
  }

  // Primal heuristic for P* (large neighbourhood search with the search itself): from the
  // allowed set `start` (a witness set the caller has verified), drop every subset S of at
  // most `size` rows in turn and search the subtree of sets containing A \ S for one with
  // fewer rows (limit |A| - 1); repeat from every improvement. Then `restarts` descents
  // from the sign sets of seeded random directions (sizes 1-2 first, `size` only for those
  // that come within one row of the best). Returns the smallest witness set found (every
  // set returned, except an unimproved `start`, passed the LP: its cone is non-empty).
  // The pool grows on the way and serves the exact search that follows; the limit and
  // mode of that search are left as they were. A time-out or trouble ends the heuristic
  // early (it proves nothing either way; the exact search meets the same condition).
  std::vector<int> improve(const std::vector<int>& start, int size, int restarts,
                           unsigned long long seed) {
    const int saved_limit = limit_;
    const bool saved_minimise = minimise_;
    const long saved_nodes = nodes_;
    polish_size_ = size;
    Bits best = zero_bits();
    for (int i : start) set(best, check_row(i));
    try {
      best = descend(best, size);
      std::mt19937_64 rng(seed);
      std::normal_distribution<double> gauss(0.0, 1.0);
      std::vector<double> x(n_);
      for (int r = 0; r < restarts && popcount(best) > lower_; ++r) {
        for (double& v : x) v = gauss(rng);
        Bits up = zero_bits(), down = zero_bits();
        for (int i = 0; i < m_; ++i) {
          double s = 0.0;
          for (int j = 0; j < n_; ++j) s += raw_[i * n_ + j] * x[j];
          set(s >= 0.0 ? up : down, i);
        }
        // Start from the smaller side (x or -x); only improvements found by the search
        // below can replace `best`, so an unverified start set is never returned.
        Bits trial = descend_verified(popcount(up) <= popcount(down) ? up : down,
                                      std::min(size, 2));
        if (popcount(trial) <= popcount(best) + 1) trial = descend_verified(trial, size);
        if (popcount(trial) < popcount(best)) best = trial;
      }
    } catch (const Timeout&) {
    } catch (const Trouble&) {
    }
    limit_ = saved_limit;
    minimise_ = saved_minimise;
    have_best_ = false;
    heuristic_nodes_ += nodes_ - saved_nodes;
    std::vector<int> rows;
    for_each_bit(best, [&](int i) { rows.push_back(i); });
    return rows;
  }

 private:
  using clock = std::chrono::steady_clock;

  // Minimising, at a new witness set (best_): the local descent from it, which may lower
  // the limit by more than one row at once. The search goes on from where it was.
  void polish() {
    const Bits found = best_;
    const long saved_nodes = nodes_;
    Bits better = found;
    try {
      better = descend(found, polish_size_);
    } catch (const Timeout&) {
      best_ = found, have_best_ = true, minimise_ = true, limit_ = popcount(found) - 1;
      throw;
    }
    heuristic_nodes_ += nodes_ - saved_nodes;
    minimise_ = true;
    record(better, popcount(better));
  }

  // Is there a witness set containing `keep` with at most `limit` rows? (decision search)
  bool search_below(const Bits& keep, int limit, Bits& found) {
    ++heuristic_searches_;
    limit_ = limit;
    minimise_ = false;
    have_best_ = false;
    std::vector<int> act;
    if (!node(keep, popcount(keep), zero_bits(), act, 0)) return false;
    found = best_;
    return true;
  }

  // Local descent: replace A by a smaller witness set found below A \ S, |S| <= size.
  Bits descend(Bits a, int size) {
    for (bool better = true; better && popcount(a) > lower_;) {  // at lower_: optimal
      better = false;
      std::vector<int> rows;
      for_each_bit(a, [&](int i) { rows.push_back(i); });
      const int limit = static_cast<int>(rows.size()) - 1;
      for (int s = 1; s <= size && !better && s <= static_cast<int>(rows.size()); ++s) {
        std::vector<int> pick(s);
        for (int i = 0; i < s; ++i) pick[i] = i;
        while (true) {  // the combinations of s rows of A, in lexicographic order
          Bits keep = a, found;
          for (int i : pick) keep[rows[i] >> 6] &= ~(1ULL << (rows[i] & 63));
          if (search_below(keep, limit, found)) {
            a = found, better = true;
            break;
          }
          int i = s - 1;
          while (i >= 0 && pick[i] == static_cast<int>(rows.size()) - s + i) --i;
          if (i < 0) break;
          ++pick[i];
          for (int j = i + 1; j < s; ++j) pick[j] = pick[j - 1] + 1;
        }
      }
    }
    return a;
  }

  // As descend, but a start set that is never improved is replaced by the all-rows set
  // (not known to be a witness otherwise; all rows allowed is always one).
  Bits descend_verified(const Bits& a, int size) {
    const Bits out = descend(a, size);
    if (out != a) return out;
    Bits all = zero_bits();
    for (int i = 0; i < m_; ++i) set(all, i);
    return all;
  }

  int check_row(int i) const {
    if (i < 0 || i >= m_) throw std::invalid_argument("row index out of range");
    return i;
  }

  // A new certificate disjoint from `excluded`, checked safely, added to the pool;
  // kNoCertificate when the LP says none exists (the cone of `excluded` is non-empty) and
  // kDoubt when the LP finds one that fails the safe check, by the support it reports
  // (weights > 1e-12) and by its whole basis, again after a cold solve: 0 then lies
  // within rounding of the hull's boundary, and neither answer is proven.
  int new_certificate(const Bits& excluded, const Bits& forbidden, bool feasible_only = false) {
    if (doubt_anywhere_ && forced_doubt()) return kDoubt;  // tests only
    if (!lp_->solve(excluded, forbidden, support_, values_, false, feasible_only))
      return kNoCertificate;
    std::vector<int> sup;
    std::vector<double> lam;
    if (!safe_support(sup, lam)) {
      ++rejected_;
      if (!lp_->solve(excluded, forbidden, support_, values_, true)) return kDoubt;
      if (!safe_support(sup, lam)) return kDoubt;
    }
    Bits b = zero_bits();
    for (int i : sup) set(b, i);
    pool_.push_back(b);
    return static_cast<int>(pool_.size()) - 1;
  }

  // The LP's certificate as a sorted support that passes the safe check: the rows of
  // weight > 1e-12 or, failing that, the whole basis (a weight under 1e-12 that the safe
  // check can still prove positive). False when neither passes.
  bool safe_support(std::vector<int>& sup, std::vector<double>& lam) {
    sup.clear();
    for (size_t i = 0; i < support_.size(); ++i)
      if (values_[i] > 1e-12) sup.push_back(support_[i]);
    std::sort(sup.begin(), sup.end());
    if (certificate_is_safe(n_, raw_, sup, lam)) return true;
    if (sup.size() == support_.size()) return false;
    sup = support_;
    std::sort(sup.begin(), sup.end());
    return certificate_is_safe(n_, raw_, sup, lam);
  }

  void record(const Bits& allowed, int count) {
    best_ = allowed;
    have_best_ = true;
    limit_ = count - 1;  // minimise: look for strictly fewer from now on
  }

  bool node(const Bits& allowed, int count, const Bits& forbidden, std::vector<int>& act,
            size_t seen) {
    ++nodes_;
    if ((nodes_ & 31) == 0 && clock::now() > deadline_) throw Timeout{};
    if (node_limit_ > 0 && nodes_ > node_limit_) throw Timeout{true};
    for (size_t c = seen; c < pool_.size(); ++c)
      if (disjoint(pool_[c], allowed)) act.push_back(static_cast<int>(c));
    if (act.empty()) {
      const size_t scanned = pool_.size();
      const bool forced = !doubt_anywhere_ && count < limit_ && forced_doubt();
      const int c = forced ? kDoubt : new_certificate(allowed, forbidden);
      if (c == kDoubt) return doubtful_node(allowed, count, forbidden, scanned);
      if (c < 0) {
        record(allowed, count);
        if (minimise_ && polish_size_ > 0) polish();
        return !minimise_ || limit_ < lower_;  // minimising: a witness at the bound is optimal
      }
      act.push_back(c);
    }
    seen = pool_.size();
    const int room = limit_ - count;
    // Order the active certificates by free size (bucket sort, older first in a bucket).
    const int cap = n_ + 2;
    bucket_.assign(cap + 1, 0);
    free_.resize(act.size());
    for (size_t j = 0; j < act.size(); ++j) {
      free_[j] = std::min(popcount(and_not(pool_[act[j]], forbidden)), cap);
      ++bucket_[free_[j]];
    }
    if (bucket_[0] > 0) {  // a certificate of forbidden rows only
      if (proof_)
        for (size_t j = 0; j < act.size(); ++j)
          if (free_[j] == 0) {
            trace_.insert(trace_.end(), {kEmpty, act[j]});
            break;
          }
      return false;
    }
    if (room <= 0) {  // no release left, and act[0] misses every allowed row
      if (proof_) trace_.insert(trace_.end(), {kFull, act[0]});
      return false;
    }
    for (int b = 0, acc = 0; b <= cap; ++b) std::swap(acc, bucket_[b]), acc += bucket_[b];
    std::vector<int> sorted(act.size());
    for (size_t j = 0; j < act.size(); ++j) sorted[bucket_[free_[j]]++] = act[j];
    if (packing_ && packing_exceeds(allowed, forbidden, sorted, room)) {
      ++pruned_packing_;
      if (proof_) {
        if (pack_.size() == 1) {
          trace_.insert(trace_.end(), {kEmpty, pack_[0]});
        } else {
          trace_.insert(trace_.end(), {kPack, static_cast<int>(pack_.size())});
          trace_.insert(trace_.end(), pack_.begin(), pack_.end());
        }
      }
      return false;
    }
    if (transversal_ && !proof_ && static_cast<int>(pack_.size()) == room) {
      const int verdict = transversal_bound(allowed, count, forbidden, sorted, kTransversalLPs);
      if (verdict == 1) {
        ++pruned_tr_;
        return false;
      }
      // A witness set was recorded (with limit_ one below its count).
      if (verdict == 2 && (!minimise_ || limit_ < lower_)) return true;
    }
    if (room <= hs_room_ && !proof_) {
      free_sets_.clear();
      free_bits_.resize(sorted.size());
      for (size_t j = 0; j < sorted.size(); ++j) {
        free_bits_[j] = and_not(pool_[sorted[j]], forbidden);
        free_sets_.push_back(&free_bits_[j]);
      }
      if (degree_bound_exceeds(free_sets_, room, m_, degree_)) {
        ++pruned_degree_;
        return false;
      }
      const int verdict = hitting_set_bound(allowed, count, forbidden, sorted, room);
      if (verdict == 1) {
        ++pruned_hs_;
        return false;
      }
      // A witness set was recorded (with limit_ one below its count).
      if (verdict == 2 && (!minimise_ || limit_ < lower_)) return true;
    }
    // Branch on the certificate with the fewest free rows: the smallest active one, or the
    // LP's (least weight on free rows, often fewer of them; measured 1.1-1.2x at n = 12).
    int branch_cert = sorted[0];
    if (lp_branch_ && !proof_) {  // in a proof every extra certificate costs rationals
      const int c = new_certificate(allowed, forbidden);
      if (c >= 0) {
        const int free_rows = popcount(and_not(pool_[c], forbidden));
        if (free_rows == 0) return false;  // a certificate of forbidden rows only
        if (free_rows < popcount(and_not(pool_[branch_cert], forbidden))) branch_cert = c;
        act.push_back(c);
      }
    }
    const Bits branch = and_not(pool_[branch_cert], forbidden);
    // Release first the rows that break the most active certificates.
    hits_.assign(m_, 0);
    for (int c : act) for_each_bit(pool_[c] & branch, [&](int i) { ++hits_[i]; });
    std::vector<std::pair<int, int>> rows;
    for_each_bit(branch, [&](int i) { rows.emplace_back(-hits_[i], i); });
    std::stable_sort(rows.begin(), rows.end());
    if (proof_) {
      trace_.insert(trace_.end(), {kBranch, branch_cert, static_cast<int>(rows.size())});
      for (const auto& hr : rows) trace_.push_back(hr.second);
    }
    Bits child_forbidden = forbidden;
    for (const auto& hr : rows) {
      if (count + 1 > limit_) break;  // the limit shrinks when minimising
      const int row = hr.second;
      Bits child = allowed;
      set(child, row);
      // The child keeps the active certificates that miss the row, smallest free parts
      // first, at most act_cap_ of them (any subset is valid; the cap bounds the work).
      std::vector<int> child_act;
      child_act.reserve(std::min<size_t>(sorted.size(), act_cap_));
      for (int c : sorted) {
        if (test(pool_[c], row)) continue;
        child_act.push_back(c);
        if (child_act.size() >= act_cap_) break;
      }
      if (node(child, count + 1, child_forbidden, child_act, seen)) return true;
      set(child_forbidden, row);
    }
    return false;
  }

  // A node whose cone the LP cannot settle in floating point (new_certificate: kDoubt).
  // Deciding, with room for one more row, branching on every free row is exact without
  // settling it: a witness below the node releases some row not yet allowed, the first of
  // them (in index order) not forbidden by an earlier sibling; and were the node itself a
  // witness, so would its first child be (a larger allowed set, a larger cone). Otherwise
  // (no room, no free row, minimising, writing a proof) the search stops with trouble.
  // The children scan the pool from `scanned` (the node found nothing disjoint before it).
  bool doubtful_node(const Bits& allowed, int count, const Bits& forbidden, size_t scanned) {
    ++doubtful_;
    if (minimise_ || proof_ || count + 1 > limit_ || popcount(or_bits(allowed, forbidden)) == m_)
      throw Trouble{kDoubtMessage};
    Bits child_forbidden = forbidden;
    for (int row = 0; row < m_; ++row) {
      if (test(allowed, row) || test(forbidden, row)) continue;
      Bits child = allowed;
      set(child, row);
      std::vector<int> child_act;
      if (node(child, count + 1, child_forbidden, child_act, scanned)) return true;
      set(child_forbidden, row);
    }
    return false;
  }

  bool packing_exceeds(const Bits& allowed, const Bits& forbidden, const std::vector<int>& sorted,
                       int room) {
    // pack_: the certificates used (one alone when its free part is empty).
    Bits used = zero_bits();
    int count = 0;
    pack_.clear();
    for (int c : sorted) {
      const Bits f = and_not(pool_[c], forbidden);
      if (disjoint(f, used)) {
        used = or_bits(used, f);
        pack_.push_back(c);
        if (++count > room) return true;
      }
    }
    // Exactly `room` parts from the pool: the transversal bound without LPs may already
    // prune, before any LP is spent on extending the packing (measured: 14% fewer LPs).
    if (transversal_ && !proof_ && count == room &&
        transversal_bound(allowed, 0, forbidden, sorted, 0) == 1) {
      ++pruned_tr_;
      return true;
    }
    // Three or more parts short, the LP extension almost never reaches room + 1 (n = 13:
    // 90 of 4,000 tries) and its LPs cost more than the few subtrees it prunes (1.1x).
    // (Proofs: always extended, since a pruned node is a smaller proof than its subtree.)
    if (!proof_ && room - count >= kExtendWithin) return false;
    Bits excluded = or_bits(allowed, used);
    while (count <= room) {
      // Phase 1 only: the warm start excludes the last certificate's rows, so phase 1 is
      // almost a cold solve and phase 2 was 47% of the pivots; skipping it was measured
      // at 0.79-0.87x the search time and 12-17% fewer nodes at n = 14-15
      // (results/one_layer/profile_2026-12-05/README.md, section 5).
      const int c = new_certificate(excluded, forbidden, true);
      if (c < 0) return false;
      const Bits more = and_not(pool_[c], forbidden);
      if (popcount(more) == 0) {
        pack_.assign(1, c);
        return true;
      }
      pack_.push_back(c);
      excluded = or_bits(excluded, more);
      ++count;
    }
    return true;
  }

  // Transversal bound, at a node where the packing stopped at exactly `room` certificates
  // with pairwise disjoint free parts. A witness below releases at most `room` rows and must
  // meet every part, so it releases exactly one row of each part and no other row. Every
  // other active certificate must contain one of those rows: a certificate that meets a
  // single part restricts that part's choice to their common rows (propagation to a fixed
  // point), and the few choices left are searched, each full choice tested by the LP (which
  // either gives a witness or a certificate that the choice misses: implicit hitting set).
  // Measured at n = 12-14: it prunes over 99% of the nodes where it applies.
  // Returns 1: no such choice (prune); 0: budget spent (no pruning); 2: a witness recorded
  // (only with max_lps > 0; with 0 it is a pure bound on the pool's certificates).
  int transversal_bound(const Bits& allowed, int count, const Bits& forbidden,
                        const std::vector<int>& sorted, int max_lps) {
    const int parts = static_cast<int>(pack_.size());
    // One slot of `parts` choices per depth; each level fixes one more part to a single
    // row, so the depth is at most `parts`.
    tr_choices_.resize(static_cast<size_t>(parts) * (parts + 1));
    for (int k = 0; k < parts; ++k) tr_choices_[k] = and_not(pool_[pack_[k]], forbidden);
    tr_family_.clear();
    for (int c : sorted) tr_family_.push_back(and_not(pool_[c], forbidden));
    long budget = kTransversalNodes;
    int lps = kTransversalLPs - max_lps;  // LPs the search may still spend: max_lps
    return transversal_search(0, parts, allowed, count, forbidden, budget, lps);
  }

  // Narrow the choices until every certificate of tr_family_ meets two parts' choices or
  // is settled; false when one meets none (no transversal is left).
  bool propagate(Bits* choice, int parts) const {
    for (bool changed = true; changed;) {
      changed = false;
      for (const Bits& f : tr_family_) {
        int only = -1, meets = 0;
        for (int k = 0; k < parts && meets < 2; ++k)
          if (!disjoint(f, choice[k])) only = k, ++meets;
        if (meets == 0) return false;
        if (meets == 1) {
          const Bits narrowed = choice[only] & f;
          if (narrowed != choice[only]) choice[only] = narrowed, changed = true;
        }
      }
    }
    return true;
  }

  // The choices of this level are tr_choices_[depth * parts, (depth + 1) * parts).
  int transversal_search(int depth, int parts, const Bits& allowed, int count,
                         const Bits& forbidden, long& budget, int& lps) {
    ++tr_nodes_;
    if (--budget < 0) return 0;
    Bits* choice = &tr_choices_[static_cast<size_t>(depth) * parts];
    if (!propagate(choice, parts)) return 1;
    int pick = -1, pick_size = 1 << 30;
    for (int k = 0; k < parts; ++k) {
      const int s = popcount(choice[k]);
      if (s > 1 && s < pick_size) pick = k, pick_size = s;
    }
    if (pick < 0) {  // one row per part: the LP decides
      if (lps >= kTransversalLPs) return 0;
      ++lps;
      Bits trial = allowed;
      for (int k = 0; k < parts; ++k) trial = or_bits(trial, choice[k]);
      const int c = new_certificate(trial, forbidden);
      if (c == kDoubt) return 0;  // neither a witness nor a certificate: no prune
      if (c < 0) {
        record(trial, count + parts);
        return 2;
      }
      const Bits f = and_not(pool_[c], forbidden);
      if (popcount(f) == 0) return 1;
      tr_family_.push_back(f);  // misses this choice, so propagation now fails
      return propagate(choice, parts) ? 0 : 1;
    }
    const Bits rows = choice[pick];
    Bits* below = choice + parts;
    int result = 1;
    for_each_bit(rows, [&](int i) {
      if (result != 1) return;
      std::copy(choice, choice + parts, below);
      below[pick] = zero_bits();
      set(below[pick], i);
      const int r = transversal_search(depth + 1, parts, allowed, count, forbidden, budget, lps);
      if (r != 1) result = r;
    });
    return result;
  }

  // Exact bound: is there a set H of at most `room` non-forbidden rows meeting the free
  // part of every active certificate? 1: no (prune); 0: unknown or yes; 2: a witness.
  // Implicit hitting set: a hitting set found is tested by the LP; a new certificate
  // joins the family and the master runs again (at most hs_rounds_ times).
  int hitting_set_bound(const Bits& allowed, int count, const Bits& forbidden,
                        const std::vector<int>& sorted, int room) {
    std::vector<Bits> family;
    family.reserve(sorted.size() + hs_rounds_);
    // Any subfamily gives a valid bound; the smallest free parts bind the most.
    for (int c : sorted) {
      if (static_cast<int>(family.size()) >= hs_family_) break;
      family.push_back(and_not(pool_[c], forbidden));
    }
    for (int round = 0; round <= hs_rounds_; ++round) {
      long budget = hs_budget_;
      Bits hit = zero_bits();
      const int found = hs_search(family, hit, forbidden, room, budget);
      if (found == 0) return 1;  // no hitting set: prune
      if (found < 0 || round == hs_rounds_) return 0;
      const Bits trial = or_bits(allowed, hit);
      const int c = new_certificate(trial, forbidden);
      if (c == kDoubt) return 0;  // neither a witness nor a certificate: no prune
      if (c < 0) {
        record(trial, count + popcount(hit));
        return 2;
      }
      const Bits f = and_not(pool_[c], forbidden);
      if (popcount(f) == 0) return 1;
      family.push_back(f);
    }
    return 0;
  }

  // 1: `hit` (extended) meets every set; 0: no such extension within `room`; -1: budget.
  int hs_search(const std::vector<Bits>& family, Bits& hit, Bits banned, int room, long& budget) {
    ++hs_nodes_;
    if (--budget < 0) return -1;
    // The smallest set not yet hit; a greedy packing of unhit sets bounds from below.
    int best = -1, best_size = 1 << 30;
    for (size_t j = 0; j < family.size(); ++j) {
      if (!disjoint(family[j], hit)) continue;
      const int s = popcount(and_not(family[j], banned));
      if (s < best_size) best_size = s, best = static_cast<int>(j);
    }
    if (best < 0) return 1;
    if (room == 0 || best_size == 0) return 0;
    if (room == 1) {  // one row must lie in every unhit set
      Bits common = and_not(family[best], banned);
      for (const Bits& f : family)
        if (disjoint(f, hit)) common = common & f;
      if (popcount(common) == 0) return 0;
      for (int w = 0; w < kMaxWords; ++w)
        if (common[w]) {
          set(hit, w * 64 + __builtin_ctzll(common[w]));
          break;
        }
      return 1;
    }
    if (room < 8) {
      Bits used = zero_bits();
      int packed = 0;
      for (const Bits& f : family) {
        if (!disjoint(f, hit)) continue;
        const Bits g = and_not(f, banned);
        if (disjoint(g, used)) {
          used = or_bits(used, g);
          if (++packed > room) return 0;
        }
      }
    }
    if (room < 8) {
      // Degree bound on the unhit sets, on the stack: the `room` largest degrees must
      // cover every unhit set.
      int degree[64 * kMaxWords] = {0};
      int sets = 0;
      for (const Bits& f : family) {
        if (!disjoint(f, hit)) continue;
        ++sets;
        for_each_bit(and_not(f, banned), [&](int i) { ++degree[i]; });
      }
      int top[8] = {0};
      for (int i = 0; i < m_; ++i) {
        int d = degree[i];
        for (int k = 0; k < room && d > 0; ++k)
          if (d > top[k]) std::swap(d, top[k]);
      }
      int covered = 0;
      for (int k = 0; k < room; ++k) covered += top[k];
      if (covered < sets) return 0;
    }
    const Bits choices = and_not(family[best], banned);
    int result = 0;
    for_each_bit(choices, [&](int i) {
      if (result != 0) return;
      Bits h = hit;
      set(h, i);
      const int r = hs_search(family, h, banned, room - 1, budget);
      if (r == 1) hit = h;
      if (r != 0) result = r;
      set(banned, i);
    });
    return result;
  }

  // Proof trace, preorder: branch (kBranch, certificate, k, rows released in order, then the
  // k children), or a leaf: (kEmpty, c) c inside the forbidden rows; (kFull, c) no release
  // left and c misses the allowed rows; (kPack, k, c_1..c_k) k > room certificates missing
  // the allowed rows with pairwise disjoint non-forbidden parts.
  static constexpr int kBranch = 0, kEmpty = 1, kFull = 2, kPack = 3;
  static constexpr int kNoCertificate = -1, kDoubt = -2;
  static constexpr const char* kDoubtMessage =
      "a certificate failed its safe check (near-degenerate rows)";
  bool proof_;
  bool transversal_;
  bool lp_branch_;
  std::vector<int> trace_, pack_;
  std::vector<Bits> tr_family_, tr_choices_;
  long pruned_tr_ = 0, tr_nodes_ = 0;
  int m_ = 0, n_ = 0;
  int limit_;
  int lower_;  // P* >= lower_ is known: a witness with that many rows ends a minimisation
  bool packing_;
  int hs_room_;
  long hs_budget_;
  int hs_rounds_;
  int hs_family_;
  size_t act_cap_;
  bool minimise_;
  std::vector<double> raw_, unit_;
  std::unique_ptr<WarmLP> lp_;
  std::vector<Bits> pool_;
  std::vector<int> support_;
  std::vector<double> values_;
  std::vector<int> free_, bucket_, hits_, degree_;
  std::vector<Bits> free_bits_;
  std::vector<const Bits*> free_sets_;
  clock::time_point deadline_;
  long node_limit_ = 0;
  Bits best_ = zero_bits();
  Bits start_allowed_ = zero_bits(), start_forbidden_ = zero_bits();
  bool have_best_ = false;
  std::string outcome_ = "not run", message_;
  double seconds_ = 0.0;
  long pruned_degree_ = 0;
  long heuristic_nodes_ = 0, heuristic_searches_ = 0;
  int polish_size_ = 0;  // set by improve(): the local descent polishes every new witness
  long nodes_ = 0, pruned_packing_ = 0, pruned_hs_ = 0, hs_nodes_ = 0, rejected_ = 0;
  long doubtful_ = 0, doubt_every_ = 0, doubt_clock_ = 0;
  bool doubt_anywhere_ = false;
  bool forced_doubt() { return doubt_every_ > 0 && ++doubt_clock_ % doubt_every_ == 0; }
};

// Safe check of one certificate from Python (tests): rows of W and the support.
py::object check_certificate(py::array_t<double, py::array::c_style | py::array::forcecast> weight,
                             std::vector<int> support) {
  auto w = weight.unchecked<2>();
  const int m = static_cast<int>(w.shape(0)), n = static_cast<int>(w.shape(1));
  std::vector<double> raw(static_cast<size_t>(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) raw[i * n + j] = w(i, j);
  for (int i : support)
    if (i < 0 || i >= m) throw std::invalid_argument("support index out of range");
  std::vector<double> lam;
  if (!certificate_is_safe(n, raw, support, lam)) return py::none();
  py::list out;
  for (double v : lam) out.append(v);
  return out;
}

}  // namespace

PYBIND11_MODULE(_cellsearch, mod) {
  mod.doc() = "Compiled core of the one-layer cell search (see cellsearch.cpp).";
  py::class_<Search>(mod, "Search")
      .def(py::init<py::array_t<double, py::array::c_style | py::array::forcecast>, int, bool, int,
                    long, int, int, int, bool, double, bool, int, bool, bool, bool>(),
           py::arg("weight"), py::arg("limit"), py::arg("packing") = true, py::arg("hs_room") = 0,
           py::arg("hs_budget") = 0, py::arg("hs_rounds") = 0, py::arg("hs_family") = 256, py::arg("act_cap") = 1 << 30, py::arg("minimise") = false,
           py::arg("time_limit") = 0.0, py::arg("proof") = false, py::arg("lower") = 0,
           py::arg("warm_lp") = true, py::arg("transversal") = true,
           py::arg("lp_branch") = true)
      .def("run",
           [](Search& s) {
             {
               py::gil_scoped_release release;
               s.search();
             }
             return s.result();
           })
      .def("certificates", &Search::certificates)
      .def("result", &Search::result)
      .def("set_limit", &Search::set_limit, py::arg("limit"))
      .def("set_node_limit", &Search::set_node_limit, py::arg("limit"))
      .def("set_doubt_every", &Search::set_doubt_every, py::arg("k"), py::arg("anywhere") = false)
      .def("improve",
           [](Search& s, const std::vector<int>& start, int size, int restarts,
              unsigned long long seed) {
             py::gil_scoped_release release;
             return s.improve(start, size, restarts, seed);
           },
           py::arg("start"), py::arg("size") = 3, py::arg("restarts") = 0, py::arg("seed") = 0)
      .def("trace", &Search::trace)
      .def("start_at", &Search::start_at, py::arg("allowed"), py::arg("forbidden"))
      .def(
          "certificate_at",
          [](Search& s, const std::vector<int>& allowed,
             const std::vector<int>& forbidden) -> py::object {
            try {
              return py::cast(s.certificate_at(allowed, forbidden));
            } catch (const Trouble&) {
              return py::none();  // no safe certificate: the caller does not split here
            }
          },
          py::arg("allowed"), py::arg("forbidden"));
  mod.def("check_certificate", &check_certificate, py::arg("weight"), py::arg("support"));
}

//! Exact distances, as the SQL operators define them (pgvector's definitions).
//!
//! Accumulation is in f64, so results match a brute-force reference to ~1e-7.

use crate::catalog::Metric;

/// Euclidean distance √Σ(aᵢ−bᵢ)², in [0, ∞). `a` and `b` have the same length.
pub fn l2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = f64::from(*x) - f64::from(*y);
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// Inner product Σaᵢbᵢ.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// Euclidean norm √Σaᵢ².
pub fn norm(a: &[f32]) -> f64 {
    dot(a, a).sqrt()
}

/// Cosine distance 1 − a·b/(‖a‖‖b‖), in [0, 2]; NaN when either vector is all zeros
/// (as in pgvector).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    let denom = (aa * bb).sqrt();
    if denom == 0.0 {
        return f64::NAN;
    }
    (1.0 - ab / denom).clamp(0.0, 2.0)
}

/// The distance of `metric`: [`l2`], [`cosine`], or the negative inner product −Σaᵢbᵢ.
pub fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f64 {
    match metric {
        Metric::L2 => l2(a, b),
        Metric::Cosine => cosine(a, b),
        Metric::InnerProduct => -dot(a, b),
    }
}

/// Σ over 8 f32 lanes of `f(x, y)` (a shape the compiler vectorises).
#[inline]
pub(crate) fn lanes(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    const L: usize = 8;
    let mut acc = [0f32; L];
    let n = a.len().min(b.len());
    let (ca, cb) = (a[..n].chunks_exact(L), b[..n].chunks_exact(L));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..L {
            acc[i] += f(x[i], y[i]);
        }
    }
    for (i, (x, y)) in ra.iter().zip(rb).enumerate() {
        acc[i] += f(*x, *y);
    }
    acc.iter().sum()
}

/// A query prepared for ranking many candidates with f32 distances (see
/// [`QueryF32::distance`]).
pub struct QueryF32<'q> {
    metric: Metric,
    q: &'q [f32],
    /// ‖q‖² (cosine).
    qq: f32,
}

impl<'q> QueryF32<'q> {
    /// Prepares `q` for `metric`.
    pub fn new(metric: Metric, q: &'q [f32]) -> Self {
        QueryF32 {
            metric,
            q,
            qq: lanes(q, q, |x, _| x * x),
        }
    }

    /// [`distance`] accumulated in f32 over 8 lanes: several times faster than the f64 path
    /// and within ~1e-6 relative of it, for ranking many candidates before the exact
    /// distances of the few kept are computed. Same NaN rule for cosine and zero vectors.
    pub fn distance(&self, v: &[f32]) -> f32 {
        match self.metric {
            Metric::L2 => lanes(v, self.q, |x, y| (x - y) * (x - y)).sqrt(),
            Metric::InnerProduct => -lanes(v, self.q, |x, y| x * y),
            Metric::Cosine => {
                let denom = (lanes(v, v, |x, _| x * x) * self.qq).sqrt();
                if denom == 0.0 {
                    f32::NAN
                } else {
                    (1.0 - lanes(v, self.q, |x, y| x * y) / denom).clamp(0.0, 2.0)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((l2(&[0.0, 0.0], &[3.0, 4.0]) - 5.0).abs() < 1e-12);
        assert!((cosine(&[1.0, 0.0], &[0.0, 2.0]) - 1.0).abs() < 1e-12);
        assert!(cosine(&[1.0, 1.0], &[2.0, 2.0]).abs() < 1e-12);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) - 2.0).abs() < 1e-12);
        assert!(cosine(&[0.0, 0.0], &[1.0, 0.0]).is_nan());
        assert_eq!(
            distance(Metric::InnerProduct, &[1.0, 2.0], &[3.0, 4.0]),
            -11.0
        );
        assert!((norm(&[3.0, 4.0]) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn f32_distances_follow_the_exact_ones() {
        let mut x = 0x2545F4914F6CDD1Du64;
        let mut r = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2000) as f32 / 1000.0 - 1.0
        };
        for dims in [1, 7, 8, 9, 384, 771] {
            let a: Vec<f32> = (0..dims).map(|_| r()).collect();
            let b: Vec<f32> = (0..dims).map(|_| r()).collect();
            for m in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
                let e = distance(m, &a, &b);
                let f = f64::from(QueryF32::new(m, &b).distance(&a));
                assert!(
                    (e - f).abs() <= 1e-4 * e.abs().max(1.0),
                    "{m} {dims}: {e} vs {f}"
                );
            }
        }
        assert!(QueryF32::new(Metric::Cosine, &[1.0, 0.0])
            .distance(&[0.0, 0.0])
            .is_nan());
    }
}

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
}

//! Which quota thresholds a charge crossed: the arithmetic of `quota.threshold` events.

/// The percentages of a quota at which an event is raised, once per quota period.
pub const QUOTA_THRESHOLDS: [u8; 2] = [80, 100];

/// The thresholds of [`QUOTA_THRESHOLDS`] that a charge of `cost` crossed, given the quota's
/// `limit` and what `remaining` after the charge: those `t` with
/// `used before < ceil(limit · t / 100) <= used after`. A quota's count only grows within its
/// period, so each threshold is crossed by exactly one charge per period.
pub fn crossed_thresholds(limit: u64, remaining: u64, cost: u32) -> impl Iterator<Item = u8> {
    let after = limit.saturating_sub(remaining);
    let before = after.saturating_sub(u64::from(cost));
    QUOTA_THRESHOLDS.into_iter().filter(move |&pct| {
        let mark = u128::from(limit) * u128::from(pct);
        let mark = mark.div_ceil(100);
        limit > 0 && u128::from(before) < mark && mark <= u128::from(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crossed(limit: u64, remaining: u64, cost: u32) -> Vec<u8> {
        crossed_thresholds(limit, remaining, cost).collect()
    }

    #[test]
    fn each_threshold_is_crossed_by_one_charge() {
        // limit 10: 80 % is the 8th unit, 100 % the 10th.
        let hits: Vec<(u64, Vec<u8>)> = (1..=10)
            .map(|used| (used, crossed(10, 10 - used, 1)))
            .filter(|(_, c)| !c.is_empty())
            .collect();
        assert_eq!(hits, vec![(8, vec![80]), (10, vec![100])]);
        assert_eq!(
            crossed(10, 0, 5),
            vec![80, 100],
            "one big charge crosses both"
        );
        assert_eq!(crossed(10, 3, 1), Vec::<u8>::new(), "7 of 10");
        assert_eq!(
            crossed(3, 0, 1),
            vec![80, 100],
            "80 % of 3 rounds up to the 3rd unit, which is also 100 %"
        );
        assert_eq!(crossed(3, 1, 1), Vec::<u8>::new());
        assert_eq!(crossed(0, 0, 1), Vec::<u8>::new());
        assert_eq!(crossed(u64::MAX, 0, u32::MAX), vec![100]);
    }
}

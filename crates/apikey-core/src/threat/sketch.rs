//! How many client networks used a key: a 64-bit linear-counting sketch, one bit per network
//! hash. A verification sets one bit with one atomic `fetch_or` (none when the bit is already
//! set, the usual case), so counting networks costs the hit path no lock and no allocation.
//! The hash is keyed by a secret (derived from the current pepper, so every instance sharing the
//! peppers computes the same bits and their sketches merge by OR), so nobody can pick networks
//! that collide on purpose.

use std::net::IpAddr;

/// The networks an address counts under (IPv4-mapped IPv6 as IPv4), hashed to a bit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NetworkHasher {
    seed: u64,
    v4_mask: u32,
    v6_mask: u128,
}

impl NetworkHasher {
    /// Networks of these prefixes, hashed under `seed` (a secret).
    pub(crate) fn new(ipv4_prefix: u8, ipv6_prefix: u8, seed: u64) -> Self {
        let v4_mask = u32::MAX
            .checked_shl(32 - u32::from(ipv4_prefix.min(32)))
            .unwrap_or(0);
        let v6_mask = u128::MAX
            .checked_shl(128 - u32::from(ipv6_prefix.min(128)))
            .unwrap_or(0);
        Self {
            seed: seed | 1,
            v4_mask,
            v6_mask,
        }
    }

    /// The sketch bit of `ip`'s network.
    #[inline]
    pub(crate) fn bit(&self, ip: IpAddr) -> u64 {
        let x = match ip.to_canonical() {
            IpAddr::V4(v4) => u64::from(u32::from(v4) & self.v4_mask),
            IpAddr::V6(v6) => {
                let n = u128::from(v6) & self.v6_mask;
                // Both halves feed the mix; the tag keeps 0.0.0.0/24 and ::/48 apart.
                ((n >> 64) as u64) ^ (n as u64).rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15
            }
        };
        // One multiply-xorshift round (a keyed 64-bit mixer); the top six bits pick the bit.
        let mut h = (x ^ self.seed).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 31;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        1u64 << (h >> 58)
    }
}

/// The number of distinct networks a sketch saw, by linear counting (`-m ln(zero bits / m)`);
/// a full sketch reads as 250, past every threshold a policy may set.
pub(crate) fn estimate(sketch: u64) -> u32 {
    let zeros = sketch.count_zeros();
    if zeros == 0 {
        return 250;
    }
    let m = 64.0_f64;
    let n = -m * (f64::from(zeros) / m).ln();
    // In 0..=266: the cast cannot truncate.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = n.round() as u32;
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_one_network_share_a_bit_and_counts_are_close() {
        let h = NetworkHasher::new(24, 48, 0x5eed);
        assert_eq!(
            h.bit("203.0.113.1".parse().unwrap()),
            h.bit("203.0.113.250".parse().unwrap())
        );
        assert_eq!(
            h.bit("::ffff:203.0.113.9".parse().unwrap()),
            h.bit("203.0.113.1".parse().unwrap())
        );
        assert_eq!(
            h.bit("2001:db8:1:2::1".parse().unwrap()),
            h.bit("2001:db8:1:ffff::1".parse().unwrap())
        );
        for n in [1u32, 5, 20, 40] {
            let mut s = 0u64;
            for i in 0..n {
                s |= h.bit(IpAddr::from([198, 18, u8::try_from(i).unwrap(), 7]));
            }
            let e = estimate(s);
            // Linear counting's error at 64 bits is a few networks in this range.
            assert!(e.abs_diff(n) <= n / 2 + 2, "{n} networks read as {e}");
        }
        assert_eq!(estimate(0), 0);
        assert_eq!(estimate(u64::MAX), 250);
    }
}

//! The faults a round draws, and the seeded generator that draws them.

/// A small, seedable generator (SplitMix64): the rounds must replay from
/// the seed alone.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Fault {
    Kill9Pulse,
    PowerOff,
    PartitionPublic,
    PartitionPrivate,
    PartitionBoth,
    ReloadValid,
    ReloadBroken,
    StopShort,
    StopLong,
    IdleControlBurst,
    ClockOffset,
}

pub(super) const FAULTS: [Fault; 11] = [
    Fault::Kill9Pulse,
    Fault::PowerOff,
    Fault::PartitionPublic,
    Fault::PartitionPrivate,
    Fault::PartitionBoth,
    Fault::ReloadValid,
    Fault::ReloadBroken,
    Fault::StopShort,
    Fault::StopLong,
    Fault::IdleControlBurst,
    Fault::ClockOffset,
];

impl Fault {
    pub(super) fn name(self) -> &'static str {
        match self {
            Fault::Kill9Pulse => "kill9-pulse",
            Fault::PowerOff => "power-off",
            Fault::PartitionPublic => "partition-public",
            Fault::PartitionPrivate => "partition-private",
            Fault::PartitionBoth => "partition-both",
            Fault::ReloadValid => "sighup-valid",
            Fault::ReloadBroken => "sighup-broken",
            Fault::StopShort => "sigstop-short",
            Fault::StopLong => "sigstop-long",
            Fault::IdleControlBurst => "idle-control-burst",
            Fault::ClockOffset => "clock-offset",
        }
    }
}

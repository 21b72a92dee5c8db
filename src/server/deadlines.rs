//! [`Deadlines`]: the timers of one server connection (handshake, SETTINGS
//! acknowledgement, idle, shutdown grace), kept together so that the pump
//! sleeps on one timer until the earliest of them.

use std::time::Duration;

use tokio::time::Instant;

use crate::server::Config;

/// A deadline that passed, for the pump to act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expired {
    /// No SETTINGS from the client within the handshake timeout.
    Handshake,
    /// Our SETTINGS not acknowledged within the settings timeout.
    SettingsAck,
    /// The grace period after a graceful shutdown is over.
    Grace,
    /// Nothing moved for the idle timeout.
    Idle,
}

/// What the pump reports to the idle timer on each tick.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Activity {
    /// Socket reads so far.
    pub(crate) reads: u64,
    /// Socket writes so far.
    pub(crate) writes: u64,
    /// A stream waits on this side (a handler at work, a body to send).
    pub(crate) busy: bool,
}

/// The armed deadlines of one connection.
#[derive(Debug)]
pub(crate) struct Deadlines {
    /// Until the client's first SETTINGS.
    handshake: Option<Instant>,
    /// Until the client acknowledges our SETTINGS.
    settings_ack: Option<Instant>,
    /// The idle timeout, and when it fires unless something moves.
    idle: Option<(Duration, Instant)>,
    /// Reads and writes when the idle timer last looked.
    seen: (u64, u64),
    grace: Option<Instant>,
}

impl Deadlines {
    /// The deadlines of a connection that starts at `start`.
    pub(crate) fn new(config: &Config, start: Instant) -> Deadlines {
        Deadlines {
            handshake: Some(start + config.handshake_timeout),
            settings_ack: Some(start + config.settings_timeout),
            idle: config.idle_timeout.map(|d| (d, start + d)),
            seen: (0, 0),
            grace: None,
        }
    }

    /// When the pump should look next (far in the future when nothing is
    /// armed).
    pub(crate) fn next(&self) -> Instant {
        [
            self.handshake,
            self.settings_ack,
            self.idle.map(|(_, at)| at),
            self.grace,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365))
    }

    /// The client's SETTINGS arrived.
    pub(crate) fn got_settings(&mut self) {
        self.handshake = None;
    }

    /// The client acknowledged our SETTINGS, or the connection is closing
    /// anyway.
    pub(crate) fn settings_acked(&mut self) {
        self.settings_ack = None;
    }

    /// A graceful shutdown began: the connection closes at `now + grace`
    /// at the latest. Answers false when one was already under way.
    pub(crate) fn start_grace(&mut self, now: Instant, grace: Duration) -> bool {
        if self.grace.is_some() {
            return false;
        }
        self.grace = Some(now + grace);
        true
    }

    /// True once a graceful shutdown began.
    pub(crate) fn in_grace(&self) -> bool {
        self.grace.is_some()
    }

    /// The next deadline that passed at `now`, disarmed as it is
    /// reported; the idle timer restarts instead when anything moved since
    /// it last looked.
    pub(crate) fn expired(&mut self, now: Instant, activity: Activity) -> Option<Expired> {
        if self.handshake.is_some_and(|at| now >= at) {
            self.handshake = None;
            return Some(Expired::Handshake);
        }
        if self.settings_ack.is_some_and(|at| now >= at) {
            self.settings_ack = None;
            return Some(Expired::SettingsAck);
        }
        if self.grace.is_some_and(|at| now >= at) {
            // Stays "in grace", but never fires again.
            self.grace = Some(now + Duration::from_secs(86_400 * 365));
            return Some(Expired::Grace);
        }
        if let Some((timeout, at)) = self.idle {
            if (activity.reads, activity.writes) != self.seen || activity.busy {
                self.seen = (activity.reads, activity.writes);
                self.idle = Some((timeout, now + timeout));
            } else if now >= at {
                self.idle = None;
                return Some(Expired::Idle);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            handshake_timeout: Duration::from_secs(10),
            settings_timeout: Duration::from_secs(20),
            idle_timeout: Some(Duration::from_secs(5)),
            ..Config::default()
        }
    }

    const QUIET: Activity = Activity {
        reads: 0,
        writes: 0,
        busy: false,
    };

    #[test]
    fn each_deadline_fires_once_in_order() {
        let start = Instant::now();
        let mut d = Deadlines::new(&config(), start);
        assert_eq!(d.next(), start + Duration::from_secs(5));
        assert_eq!(d.expired(start, QUIET), None);
        let t = start + Duration::from_secs(30);
        assert_eq!(d.expired(t, QUIET), Some(Expired::Handshake));
        assert_eq!(d.expired(t, QUIET), Some(Expired::SettingsAck));
        assert_eq!(d.expired(t, QUIET), Some(Expired::Idle));
        assert_eq!(d.expired(t, QUIET), None);
        assert!(d.next() > t + Duration::from_secs(86_400));
    }

    #[test]
    fn activity_restarts_the_idle_timer() {
        let start = Instant::now();
        let mut d = Deadlines::new(&config(), start);
        d.got_settings();
        d.settings_acked();
        let t = start + Duration::from_secs(6);
        let moved = Activity { reads: 1, ..QUIET };
        assert_eq!(d.expired(t, moved), None);
        assert_eq!(d.next(), t + Duration::from_secs(5));
        let busy = Activity {
            reads: 1,
            busy: true,
            ..QUIET
        };
        assert_eq!(d.expired(t + Duration::from_secs(6), busy), None);
        let later = t + Duration::from_secs(20);
        assert_eq!(d.expired(later, moved), Some(Expired::Idle));
    }

    #[test]
    fn grace_fires_once() {
        let start = Instant::now();
        let mut d = Deadlines::new(&config(), start);
        d.got_settings();
        d.settings_acked();
        assert!(d.start_grace(start, Duration::from_secs(1)));
        assert!(!d.start_grace(start, Duration::from_secs(1)));
        let t = start + Duration::from_secs(2);
        assert_eq!(d.expired(t, QUIET), Some(Expired::Grace));
        assert!(d.in_grace());
        assert_eq!(d.expired(t, QUIET), None);
    }
}

//! The one configuration model of the lvs-router suite, read from YAML or
//! from piranha's `lvs.cf`. This crate does no IO beyond reading the file it
//! is given, and knows nothing about netlink.
#![forbid(unsafe_code)]

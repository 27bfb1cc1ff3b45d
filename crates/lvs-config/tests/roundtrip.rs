//! Round trips as property tests: YAML -> model -> YAML is the identity,
//! lvs.cf -> model -> YAML -> model is the identity, and serde's own
//! deserializer agrees with the positioned decoder on the writer's output.
#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test, with its location.

mod common;

use common::*;
use lvs_config::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// model -> YAML -> model gives the same model, and writing it again
    /// gives the same text (YAML -> model -> YAML identity).
    #[test]
    fn yaml_model_yaml_is_identity(config in config()) {
        let yaml = to_yaml(&config);
        let back = parse_ok(&yaml, "gen.yaml", Format::Yaml);
        prop_assert_eq!(&back, &config);
        prop_assert_eq!(to_yaml(&back), yaml);
    }

    /// serde_yaml_ng's derived deserializer reads the writer's output to the
    /// same model as the positioned decoder does.
    #[test]
    fn serde_deserialize_agrees(config in config()) {
        let yaml = to_yaml(&config);
        let via_serde: Config = serde_yaml::from_str(&yaml).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(via_serde, config);
    }

    /// lvs.cf -> model -> YAML -> model is the identity, and the lvs.cf
    /// reads to exactly the config it was written from.
    #[test]
    fn lvscf_model_yaml_model_is_identity(config in cf_config()) {
        let cf = to_lvscf(&config);
        let from_cf = parse_ok(&cf, "gen.cf", Format::LvsCf);
        prop_assert_eq!(&from_cf, &config, "lvs.cf:\n{}", cf);
        let yaml = to_yaml(&from_cf);
        let from_yaml = parse_ok(&yaml, "gen.yaml", Format::Yaml);
        prop_assert_eq!(from_yaml, from_cf);
    }
}

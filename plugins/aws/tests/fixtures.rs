//! Every rule against its `fail` and `pass` fixtures in each format it covers.

use palisade_pack_aws::Aws;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");

#[test]
fn every_rule_matches_its_fixtures() {
    palisade_sdk::testing::check_fixtures::<Aws>(FIXTURES);
}

//! The JSON fuzz target's seeds and past crashes (`fuzz/seeds/json_bodies`,
//! `fuzz/regressions/json_bodies`), replayed through the extractor on every test run.

use cluebox_api::extract::parse;
use cluebox_protocol::wire::{
    AckRequest, FollowUpRequest, InquiryRequest, PostReply, PostStatus, SubmitReport,
};

#[test]
fn json_body_inputs() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz");
    let mut n = 0;
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(format!("{root}/{kind}/json_bodies")) else {
            continue;
        };
        for entry in dir {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let _ = parse::<SubmitReport>(&data);
            let _ = parse::<InquiryRequest>(&data);
            let _ = parse::<FollowUpRequest>(&data);
            let _ = parse::<AckRequest>(&data);
            let _ = parse::<PostStatus>(&data);
            let _ = parse::<PostReply>(&data);
            n += 1;
        }
    }
    assert!(n >= 3);
}

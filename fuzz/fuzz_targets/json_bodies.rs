//! The API's JSON extractor on every request body type: any bytes get a typed error or a
//! value, never a panic.
#![no_main]

use cluebox_api::extract::parse;
use cluebox_protocol::wire::{
    AckRequest, FollowUpRequest, InquiryRequest, PostReply, PostStatus, SubmitReport,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse::<SubmitReport>(data);
    let _ = parse::<InquiryRequest>(data);
    let _ = parse::<FollowUpRequest>(data);
    let _ = parse::<AckRequest>(data);
    let _ = parse::<PostStatus>(data);
    let _ = parse::<PostReply>(data);
});

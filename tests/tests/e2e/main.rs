//! End-to-end tests in headless Chromium against the real server and the release build of the
//! portal. One binary; each test starts its own server and browser.

mod accessibility;
mod desk_web;
mod desktop;
mod evidence;
mod flood;
mod journey;
mod portal;
mod poster;
mod reporter;
mod retry;

//! MP4, MOV and 3GP (ISO base media files and QuickTime movies): the metadata boxes are blanked
//! in place, so a video of any size is cleaned while it streams through the sealer, with flat
//! memory.
//!
//! Blanking keeps every box's length and position: a metadata box becomes a `free` box of the
//! same size with its content zeroed (players skip `free` boxes), and the creation and
//! modification times in the movie, track and media headers are zeroed. Nothing moves, so the
//! sample tables' offsets into `mdat` stay right and the video plays exactly as before.
//!
//! What goes: `udta` (QuickTime user data: `©xyz` location, `©mak` and `©mod` device, `©day`,
//! `©cmt`, iTunes-style `meta`/`ilst`), `meta` (the `keys` of iPhones:
//! `com.apple.quicktime.location.ISO6709`, make, model, software, creation date) and `uuid`
//! boxes (XMP and vendor blocks), at the top level, in the movie and in each track. What stays:
//! the media data, sample tables, edit lists and the track matrix (the orientation).
//!
//! A timed metadata track (handler `meta`: GoPro's GPS telemetry `gpmd`, Apple's `mebx`
//! location and focus tracks; handler `camm`: Google's camera motion metadata, with GPS fixes)
//! keeps its samples in `mdat` among the video's. Such a track is
//! blanked like a metadata box, and each of its samples is zeroed where it lies in `mdat`: the
//! sample tables say where (chunk offsets, samples per chunk, sample sizes), and every sample
//! must lie inside a top-level `mdat` of this file, or the movie is not cleaned. The other
//! tracks never point into those bytes, so they play as before.
//!
//! The walk is sans-IO ([`Walk`]): it says which bytes it needs next and is fed them, so the
//! browser's worker reads a `File` slice by slice and [`crate::clean`] walks a buffer.

use crate::Removed;

/// The largest box read whole to be cleaned (a movie header of a long video holds its sample
/// tables: a few MiB per hour).
pub const MAX_BOX: u64 = 64 << 20;

/// The most top-level boxes walked (a real file has a handful; a crafted one could have
/// millions of 8-byte boxes).
const MAX_TOP_BOXES: usize = 10_000;

/// The most sample ranges zeroed in one movie (GoPro writes one telemetry sample a second,
/// Apple's metadata tracks one a frame: an hour at 60 frames a second is 216,000).
const MAX_RANGES: usize = 1 << 20;

/// Handler types of tracks whose samples are metadata, zeroed with the track: `meta` (timed
/// metadata: GoPro's `gpmd`, Apple's `mebx`) and `camm` (Google's camera motion metadata, as
/// 360-degree and Street View cameras write it: GPS fixes among the motion).
const TIMED_METADATA: [&[u8; 4]; 2] = [b"meta", b"camm"];

/// Box types blanked wherever the walk meets them.
const METADATA: [&[u8; 4]; 3] = [b"udta", b"meta", b"uuid"];

/// Whether a file starting with `first` is an ISO base media file or a QuickTime movie with a
/// file type box first (every MP4, MOV and 3GP a phone records).
pub fn is_mp4(first: &[u8]) -> bool {
    first.len() >= 8 && &first[4..8] == b"ftyp"
}

/// How to clean a file: replace `bytes` at `offset`, for each patch. The file's length does
/// not change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Non-overlapping, in file order.
    pub patches: Vec<(u64, Vec<u8>)>,
    /// Ranges zeroed (offset and length: a timed metadata track's samples), in file order,
    /// neither overlapping each other nor the patches.
    pub zeros: Vec<(u64, u64)>,
    /// What was removed, each kind once, in order.
    pub removed: Vec<Removed>,
}

impl Plan {
    /// Applies the patches that fall in `chunk`, which holds the file's bytes from `offset`.
    pub fn apply(&self, offset: u64, chunk: &mut [u8]) {
        let end = offset + chunk.len() as u64;
        for (at, bytes) in &self.patches {
            let patch_end = at + bytes.len() as u64;
            if patch_end <= offset || *at >= end {
                continue;
            }
            let from = offset.max(*at);
            let to = end.min(patch_end);
            chunk[(from - offset) as usize..(to - offset) as usize]
                .copy_from_slice(&bytes[(from - at) as usize..(to - at) as usize]);
        }
        let first = self.zeros.partition_point(|(at, len)| at + len <= offset);
        for (at, len) in &self.zeros[first..] {
            if *at >= end {
                break;
            }
            let from = offset.max(*at);
            let to = end.min(at + len);
            chunk[(from - offset) as usize..(to - offset) as usize].fill(0);
        }
    }
}

/// What the walk needs next.
#[derive(Debug, PartialEq, Eq)]
pub enum Need {
    /// `len` bytes from `offset` (for [`Walk::feed`]).
    Read(u64, usize),
    /// The walk is over: the plan, or `None` when the file cannot be cleaned (damaged, not a
    /// movie, a box too large, or a timed metadata track).
    Done(Option<Plan>),
}

/// A walk over a movie's top-level boxes.
#[derive(Debug)]
pub struct Walk {
    len: u64,
    at: u64,
    boxes: usize,
    /// The box being read whole (its length), after its header was read.
    whole: Option<u64>,
    plan: Plan,
    /// The contents of the top-level `mdat` boxes walked past (offset and length).
    media: Vec<(u64, u64)>,
    failed: bool,
}

impl Walk {
    /// A walk over a file of `len` bytes.
    pub fn new(len: u64) -> Walk {
        Walk {
            len,
            at: 0,
            boxes: 0,
            whole: None,
            plan: Plan::default(),
            media: Vec::new(),
            failed: false,
        }
    }

    /// What the walk needs next.
    pub fn need(&mut self) -> Need {
        if self.failed {
            return Need::Done(None);
        }
        if let Some(size) = self.whole {
            return Need::Read(self.at, size as usize);
        }
        if self.at == self.len {
            let mut plan = std::mem::take(&mut self.plan);
            plan.removed.sort();
            plan.removed.dedup();
            self.failed = true; // a walk ends once
            plan.zeros = match merge(std::mem::take(&mut plan.zeros), &self.media) {
                Some(zeros) => zeros,
                None => return Need::Done(None),
            };
            return Need::Done(Some(plan));
        }
        Need::Read(self.at, (self.len - self.at).min(16) as usize)
    }

    /// The bytes asked for by the last [`Walk::need`] (fewer, or others, end the walk without
    /// a plan).
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        if let Some(size) = self.whole.take() {
            if bytes.len() as u64 != size {
                self.failed = true;
                return;
            }
            let mut boxed = bytes.to_vec();
            let header = header(&boxed, size).map(|h| h.kind);
            let zeros = &mut self.plan.zeros;
            let removed = match header {
                Some(kind) if &kind == b"moov" => clean_container(&mut boxed, Level::Movie, zeros),
                Some(_) => Some(blank(&mut boxed)),
                None => None,
            };
            match removed {
                Some(removed) if !removed.is_empty() => {
                    self.plan.removed.extend(removed);
                    self.plan.patches.push((self.at, boxed));
                }
                Some(_) => {}
                None => self.failed = true,
            }
            self.at += size;
            return;
        }
        self.boxes += 1;
        let Some(head) = header(bytes, self.len - self.at) else {
            self.failed = true;
            return;
        };
        if self.boxes == 1 && &head.kind != b"ftyp" || self.boxes > MAX_TOP_BOXES {
            self.failed = true;
            return;
        }
        if &head.kind == b"moov" || METADATA.contains(&&head.kind) {
            if head.size > MAX_BOX {
                self.failed = true;
                return;
            }
            self.whole = Some(head.size);
        } else {
            if &head.kind == b"mdat" {
                self.media
                    .push((self.at + head.len as u64, head.size - head.len as u64));
            }
            self.at += head.size;
        }
    }
}

/// A box's header.
struct Header {
    kind: [u8; 4],
    /// Header length (8, or 16 with a 64-bit size).
    len: usize,
    /// The whole box's length.
    size: u64,
}

/// The header of a box from its first (up to) 16 bytes, `room` bytes being left in the file or
/// in the box holding it (a size of 0 means "to the end" of that).
fn header(bytes: &[u8], room: u64) -> Option<Header> {
    let size32 = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    let (len, size) = match size32 {
        0 => (8, room),
        1 => (16, u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?)),
        n => (8, u64::from(n)),
    };
    (size >= len as u64 && size <= room).then_some(Header { kind, len, size })
}

/// Where a container is in the movie, which decides what is blanked and what is looked into.
#[derive(Clone, Copy)]
enum Level {
    Movie,
    Track,
    Media,
}

/// Cleans the children of the container box `boxed` (read whole) in place: metadata boxes
/// blanked, header times zeroed, tracks and media looked into, timed metadata tracks blanked
/// and their samples' places in the file added to `zeros`. `None` if its children do not add
/// up, or a timed metadata track's sample tables cannot be followed.
fn clean_container(
    boxed: &mut [u8],
    level: Level,
    zeros: &mut Vec<(u64, u64)>,
) -> Option<Vec<Removed>> {
    let own = header(boxed, boxed.len() as u64)?;
    let mut removed = Vec::new();
    let mut at = own.len;
    while at < boxed.len() {
        let head = header(&boxed[at..], (boxed.len() - at) as u64)?;
        let body = &mut boxed[at..at + head.size as usize];
        match (&head.kind, level) {
            (kind, _) if METADATA.contains(&kind) => removed.extend(blank(body)),
            (b"mvhd", Level::Movie) | (b"tkhd", Level::Track) | (b"mdhd", Level::Media) => {
                let had_times = zero_times(body, head.len)?;
                removed.extend(had_times.then_some(Removed::Time));
            }
            (b"trak", Level::Movie) => {
                let mdia = child(body, b"mdia");
                if matches!(mdia.and_then(handler), Some(h) if TIMED_METADATA.contains(&&h)) {
                    zeros.extend(samples(body)?);
                    ensure(zeros.len() <= MAX_RANGES)?;
                    if contains_ignoring_case(body, b"gpmd") {
                        // GoPro's telemetry: GPS fixes, and the camera's name and serial.
                        removed.extend([Removed::Location, Removed::Device]);
                    }
                    if handler_is(body, b"camm") {
                        // Google's camera motion metadata: GPS fixes among the motion.
                        removed.push(Removed::Location);
                    }
                    removed.extend(blank(body));
                } else {
                    removed.extend(clean_container(body, Level::Track, zeros)?);
                }
            }
            (b"mdia", Level::Track) => removed.extend(clean_container(body, Level::Media, zeros)?),
            _ => {}
        }
        at += head.size as usize;
    }
    Some(removed)
}

/// The handler type of a media box (`vide`, `soun`, `meta`, ...).
fn handler(mdia: &[u8]) -> Option<[u8; 4]> {
    // version and flags (4), pre_defined (4), then the handler type.
    content(child(mdia, b"hdlr")?)?.get(8..12)?.try_into().ok()
}

/// Whether the track box `trak`'s media handler is `kind`.
fn handler_is(trak: &[u8], kind: &[u8; 4]) -> bool {
    child(trak, b"mdia").and_then(handler) == Some(*kind)
}

/// The first child box of `kind` in the container box `boxed` (the child whole, header
/// included).
fn child<'a>(boxed: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    let own = header(boxed, boxed.len() as u64)?;
    let mut at = own.len;
    while at < boxed.len() {
        let head = header(&boxed[at..], (boxed.len() - at) as u64)?;
        if &head.kind == kind {
            return Some(&boxed[at..at + head.size as usize]);
        }
        at += head.size as usize;
    }
    None
}

/// A box's content, after its header.
fn content(boxed: &[u8]) -> Option<&[u8]> {
    let head = header(boxed, boxed.len() as u64)?;
    boxed.get(head.len..)
}

/// `Some(())` when `ok`, for `?` in the functions that answer `None` for a movie that cannot
/// be cleaned.
fn ensure(ok: bool) -> Option<()> {
    ok.then_some(())
}

/// The `index`th big-endian 32-bit number of `bytes`.
fn u32_at(bytes: &[u8], index: usize) -> Option<u32> {
    let from = index.checked_mul(4)?;
    Some(u32::from_be_bytes(
        bytes.get(from..from.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Where a track's samples lie in the file (offset and length, one range per chunk), from its
/// sample tables: the chunk offsets (`stco` or `co64`), the samples in each chunk (`stsc`) and
/// the sample sizes (`stsz` or `stz2`). `None` when the tables are missing, do not agree, or
/// say the media lies in another file.
fn samples(trak: &[u8]) -> Option<Vec<(u64, u64)>> {
    let minf = child(child(trak, b"mdia")?, b"minf")?;
    // Every data reference must be "in this file" (flag 1), or the offsets are another file's.
    let dref = content(child(child(minf, b"dinf")?, b"dref")?)?;
    let mut at = 8;
    while at < dref.len() {
        let entry = header(&dref[at..], (dref.len() - at) as u64)?;
        ensure(dref.get(at + entry.len + 3) == Some(&1))?;
        at += entry.size as usize;
    }
    let stbl = child(minf, b"stbl")?;
    // Chunk offsets.
    let (offsets, wide) = match (child(stbl, b"stco"), child(stbl, b"co64")) {
        (Some(stco), None) => (content(stco)?, false),
        (None, Some(co64)) => (content(co64)?, true),
        _ => return None,
    };
    let chunks = u32_at(offsets, 1)? as usize;
    ensure(offsets.len() >= 8 + chunks.checked_mul(if wide { 8 } else { 4 })?)?;
    let offset = |chunk: usize| -> Option<u64> {
        if wide {
            let from = 8 + chunk.checked_mul(8)?;
            Some(u64::from_be_bytes(
                offsets.get(from..from + 8)?.try_into().ok()?,
            ))
        } else {
            u32_at(offsets, 2 + chunk).map(u64::from)
        }
    };
    // Sample sizes: one for all, or one each (32 bits in stsz; 4, 8 or 16 in stz2).
    let (count, sizes) = match (child(stbl, b"stsz"), child(stbl, b"stz2")) {
        (Some(stsz), None) => {
            let stsz = content(stsz)?;
            let (fixed, count) = (u32_at(stsz, 1)?, u32_at(stsz, 2)? as usize);
            if fixed == 0 {
                ensure(stsz.len() >= 12 + count.checked_mul(4)?)?;
                (count, Sizes::Packed(32, &stsz[12..]))
            } else {
                (count, Sizes::Fixed(u64::from(fixed)))
            }
        }
        (None, Some(stz2)) => {
            let stz2 = content(stz2)?;
            let bits = usize::from(*stz2.get(7)?);
            let count = u32_at(stz2, 2)? as usize;
            ensure(matches!(bits, 4 | 8 | 16))?;
            ensure(stz2.len() >= 12 + (count.checked_mul(bits)?).div_ceil(8))?;
            (count, Sizes::Packed(bits, &stz2[12..]))
        }
        _ => return None,
    };
    // Samples per chunk: runs of chunks, each from its first chunk (counted from 1) on.
    let stsc = content(child(stbl, b"stsc")?)?;
    let runs = u32_at(stsc, 1)? as usize;
    ensure(runs > 0 || count == 0)?;
    let mut ranges = Vec::new();
    let mut sample = 0usize;
    for run in 0..runs {
        let first = u32_at(stsc, 2 + 3 * run)? as usize;
        let per_chunk = u32_at(stsc, 3 + 3 * run)? as usize;
        let next = if run + 1 < runs {
            u32_at(stsc, 2 + 3 * (run + 1))? as usize
        } else {
            chunks + 1
        };
        ensure(first >= 1 && (run > 0 || first == 1) && next > first)?;
        ensure(next <= chunks + 1)?;
        for chunk in first..next {
            let last = sample.checked_add(per_chunk)?;
            ensure(last <= count)?;
            let len = match sizes {
                Sizes::Fixed(each) => each.checked_mul(per_chunk as u64)?,
                Sizes::Packed(..) => {
                    (sample..last).try_fold(0u64, |len, i| len.checked_add(sizes.get(i)?))?
                }
            };
            if len > 0 {
                ensure(ranges.len() < MAX_RANGES)?;
                ranges.push((offset(chunk - 1)?, len));
            }
            sample = last;
        }
    }
    // Every sample is in a chunk.
    ensure(sample == count)?;
    Some(ranges)
}

/// A track's sample sizes.
#[derive(Clone, Copy)]
enum Sizes<'a> {
    /// Every sample has this size.
    Fixed(u64),
    /// A table of sizes, each this many bits (4, 8, 16 or 32), big-endian.
    Packed(usize, &'a [u8]),
}

impl Sizes<'_> {
    /// The size of sample `i` (counted from 0).
    fn get(self, i: usize) -> Option<u64> {
        Some(match self {
            Sizes::Fixed(size) => size,
            Sizes::Packed(4, table) => u64::from(table.get(i / 2)? >> (4 * (1 - i % 2)) & 0xf),
            Sizes::Packed(8, table) => u64::from(*table.get(i)?),
            Sizes::Packed(16, table) => u64::from(u16::from_be_bytes(
                table.get(2 * i..2 * i + 2)?.try_into().ok()?,
            )),
            Sizes::Packed(_, table) => u64::from(u32_at(table, i)?),
        })
    }
}

/// The ranges to zero, sorted and joined where they touch; `None` unless each lies inside one
/// of `media` (the `mdat` boxes' contents).
fn merge(mut zeros: Vec<(u64, u64)>, media: &[(u64, u64)]) -> Option<Vec<(u64, u64)>> {
    zeros.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(zeros.len());
    for (at, len) in zeros {
        let end = at.checked_add(len)?;
        // The last mdat starting at or before the range (they are in file order).
        let holder = media
            .partition_point(|(from, _)| *from <= at)
            .checked_sub(1)?;
        let (from, size) = media[holder];
        ensure(end <= from + size)?;
        match merged.last_mut() {
            Some((last, last_len)) if *last + *last_len >= at => {
                *last_len = (*last_len).max(end - *last);
            }
            _ => merged.push((at, len)),
        }
    }
    Some(merged)
}

/// Zeroes the creation and modification times of a movie, track or media header (version 0:
/// two 32-bit fields, version 1: two 64-bit ones, after the version and flags). Whether they
/// held anything; `None` for a header too short for its version.
fn zero_times(boxed: &mut [u8], header_len: usize) -> Option<bool> {
    let version = *boxed.get(header_len)?;
    let width = if version == 1 { 16 } else { 8 };
    let times = boxed.get_mut(header_len + 4..header_len + 4 + width)?;
    let had = times.iter().any(|b| *b != 0);
    times.fill(0);
    Some(had)
}

/// Blanks a whole box in place: its type becomes `free` and its content zeros. What it held,
/// judged from the names inside (always at least [`Removed::Other`] when it held anything).
fn blank(boxed: &mut [u8]) -> Vec<Removed> {
    let Some(head) = header(boxed, boxed.len() as u64) else {
        return Vec::new();
    };
    let content = &mut boxed[head.len..];
    let mut removed = Vec::new();
    if content.iter().any(|b| *b != 0) {
        removed.push(Removed::Other);
        for (kind, names) in NAMES {
            if names
                .iter()
                .any(|name| contains_ignoring_case(content, name))
            {
                removed.push(kind);
            }
        }
    }
    content.fill(0);
    boxed[4..8].copy_from_slice(b"free");
    removed
}

/// Names inside metadata boxes, and what they tell of.
const NAMES: [(Removed, &[&[u8]]); 5] = [
    (
        Removed::Location,
        &[b"\xa9xyz", b"loci", b"location", b"gps"],
    ),
    (
        Removed::Device,
        &[
            b"\xa9mak",
            b"\xa9mod",
            b"\xa9swr",
            b"make",
            b"model",
            b"software",
            b"serial",
        ],
    ),
    (Removed::Time, &[b"\xa9day", b"date"]),
    (
        Removed::Author,
        &[
            b"\xa9aut",
            b"\xa9ART",
            b"\xa9cpy",
            b"author",
            b"artist",
            b"creator",
            b"copyright",
        ],
    ),
    (
        Removed::Text,
        &[
            b"\xa9cmt",
            b"\xa9des",
            b"\xa9nam",
            b"comment",
            b"description",
            b"title",
        ],
    ),
];

fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Cleans a whole movie held in memory: `None` when it cannot be cleaned.
pub fn clean(file: &[u8]) -> Option<(Vec<u8>, Vec<Removed>)> {
    let mut walk = Walk::new(file.len() as u64);
    loop {
        match walk.need() {
            Need::Read(offset, len) => {
                let from = usize::try_from(offset).ok()?;
                walk.feed(file.get(from..from.checked_add(len)?)?);
            }
            Need::Done(plan) => {
                let plan = plan?;
                let mut out = file.to_vec();
                plan.apply(0, &mut out);
                return Some((out, plan.removed));
            }
        }
    }
}

/// A small but complete movie for tests: a file type box with `brand`, a movie header, one
/// 64x48 video track whose single sample sits in `mdat`, the headers' times set. Tools such as
/// exiftool accept it and write metadata into it.
#[cfg(feature = "fixtures")]
pub fn fixture(brand: &[u8; 4]) -> Vec<u8> {
    movie(brand, None)
}

/// The fixture movie with a second track as a GoPro camera records one: timed metadata
/// (handler `meta`, samples `gpmd`) whose one sample, in `mdat` after the video's, holds the
/// camera's name and a GPS fix (23.1291 N, 113.2644 E) in GoPro's KLV format, which exiftool
/// reads with `-ee`.
#[cfg(feature = "fixtures")]
pub fn fixture_with_telemetry(brand: &[u8; 4]) -> Vec<u8> {
    movie(brand, Some(Telemetry::GoPro))
}

/// The fixture movie with a second track as a 360-degree camera records one: Google's camera
/// motion metadata (handler and samples `camm`) whose one sample is a GPS fix (type 5:
/// latitude, longitude and altitude as little-endian doubles), which exiftool reads with
/// `-ee`.
#[cfg(feature = "fixtures")]
pub fn fixture_with_camera_motion(brand: &[u8; 4]) -> Vec<u8> {
    movie(brand, Some(Telemetry::CameraMotion))
}

/// The kinds of telemetry track the fixtures carry.
#[cfg(feature = "fixtures")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Telemetry {
    GoPro,
    CameraMotion,
}

/// GoPro's metadata format: a four-letter key, a type, the size of one item, how many items,
/// then the items padded to four bytes. Type 0 nests more of them.
#[cfg(feature = "fixtures")]
fn klv(key: &[u8; 4], kind: u8, item: u8, repeat: u16, data: &[u8]) -> Vec<u8> {
    let mut out = [key.as_slice(), &[kind, item], &repeat.to_be_bytes(), data].concat();
    out.resize(out.len().div_ceil(4) * 4, 0);
    out
}

#[cfg(feature = "fixtures")]
fn movie(brand: &[u8; 4], telemetry: Option<Telemetry>) -> Vec<u8> {
    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        [
            &(8 + body.len() as u32).to_be_bytes(),
            kind.as_slice(),
            body,
        ]
        .concat()
    }
    fn full(kind: &[u8; 4], flags: u32, body: &[u8]) -> Vec<u8> {
        boxed(kind, &[&flags.to_be_bytes(), body].concat())
    }
    let be = |v: &[u32]| v.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
    let matrix = be(&[0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000]);
    let (created, modified) = (3_000_000_000, 3_000_000_001);
    let video: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
    let gps = be(&[231_291_000, 1_132_644_000, 10_000, 0, 0]);
    let stream = [
        klv(
            b"SCAL",
            b'l',
            4,
            5,
            &be(&[10_000_000, 10_000_000, 1000, 1000, 100]),
        ),
        klv(b"GPS5", b'l', 20, 1, &gps),
    ]
    .concat();
    let device = [
        klv(b"DVID", b'L', 4, 1, &be(&[1])),
        klv(b"DVNM", b'c', 1, 12, b"HERO12 Black"),
        klv(b"STRM", 0, 1, stream.len() as u16, &stream),
    ]
    .concat();
    let telemetry_sample = match telemetry {
        Some(Telemetry::CameraMotion) => [
            vec![0, 0, 5, 0],
            23.1291f64.to_le_bytes().to_vec(),
            113.2644f64.to_le_bytes().to_vec(),
            21.5f64.to_le_bytes().to_vec(),
        ]
        .concat(),
        _ => klv(b"DEVC", 0, 1, device.len() as u16, &device),
    };
    let track = |id: u32, kind: &[u8; 4], entry: Vec<u8>, header: Vec<u8>, at: u32, len: u32| {
        let tkhd = full(
            b"tkhd",
            3,
            &[
                be(&[created, modified, id, 0, 2000, 0, 0, 0, 0]),
                matrix.clone(),
                be(&[64 << 16, 48 << 16]),
            ]
            .concat(),
        );
        let mdhd = full(
            b"mdhd",
            0,
            &[be(&[created, modified, 1000, 2000]), vec![0x55, 0xc4, 0, 0]].concat(),
        );
        let hdlr = full(
            b"hdlr",
            0,
            &[be(&[0]), kind.to_vec(), vec![0; 12], b"Handler\0".to_vec()].concat(),
        );
        let stbl = boxed(
            b"stbl",
            &[
                full(b"stsd", 0, &[be(&[1]), entry].concat()),
                full(b"stts", 0, &be(&[1, 1, 2000])),
                full(b"stsc", 0, &be(&[1, 1, 1, 1])),
                full(b"stsz", 0, &be(&[0, 1, len])),
                full(b"stco", 0, &be(&[1, at])),
            ]
            .concat(),
        );
        let dinf = boxed(
            b"dinf",
            &full(b"dref", 0, &[be(&[1]), full(b"url ", 1, &[])].concat()),
        );
        let minf = boxed(b"minf", &[header, dinf, stbl].concat());
        let mdia = boxed(b"mdia", &[mdhd, hdlr, minf].concat());
        boxed(b"trak", &[tkhd, mdia].concat())
    };
    let build = |sample_at: u32| {
        let mvhd = full(
            b"mvhd",
            0,
            &[
                be(&[created, modified, 1000, 2000, 0x10000]),
                vec![1, 0],
                vec![0; 10],
                matrix.clone(),
                vec![0; 24],
                be(&[3]),
            ]
            .concat(),
        );
        let visual = boxed(
            b"mp4v",
            &[
                vec![0, 0, 0, 0, 0, 0, 0, 1],
                vec![0; 16],
                vec![0, 64, 0, 48],
                be(&[0x48_0000, 0x48_0000, 0]),
                vec![0, 1],
                vec![0; 32],
                vec![0, 24, 0xff, 0xff],
            ]
            .concat(),
        );
        let vmhd = full(b"vmhd", 1, &[0; 8]);
        let mut traks = track(1, b"vide", visual, vmhd, sample_at, video.len() as u32);
        if let Some(kind) = telemetry {
            let (handler, format) = match kind {
                Telemetry::GoPro => (b"meta", b"gpmd"),
                Telemetry::CameraMotion => (b"camm", b"camm"),
            };
            let entry = boxed(format, &[0, 0, 0, 0, 0, 0, 0, 1]);
            let nmhd = full(b"nmhd", 0, &[]);
            let at = sample_at + video.len() as u32;
            let len = telemetry_sample.len() as u32;
            traks.extend(track(2, handler, entry, nmhd, at, len));
        }
        let moov = boxed(b"moov", &[mvhd, traks].concat());
        let ftyp = boxed(
            b"ftyp",
            &[brand.as_slice(), &be(&[512]), b"isomiso2mp41"].concat(),
        );
        [ftyp, moov].concat()
    };
    let head = build(0);
    let head = build(head.len() as u32 + 8);
    let mut media = video.clone();
    if telemetry.is_some() {
        media.extend(&telemetry_sample);
    }
    [head, boxed(b"mdat", &media)].concat()
}

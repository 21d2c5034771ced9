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
//! A movie with a timed metadata track (handler `meta`, as GoPro's GPS telemetry) is not
//! cleaned: its samples live in `mdat` among the video's, and the reporter is told instead.
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
            let removed = match header {
                Some(kind) if &kind == b"moov" => clean_container(&mut boxed, Level::Movie),
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
/// blanked, header times zeroed, tracks and media looked into. `None` if its children do not
/// add up, or it has a timed metadata track.
fn clean_container(boxed: &mut [u8], level: Level) -> Option<Vec<Removed>> {
    let own = header(boxed, boxed.len() as u64)?;
    let mut removed = Vec::new();
    let mut at = own.len;
    while at < boxed.len() {
        let child = header(&boxed[at..], (boxed.len() - at) as u64)?;
        let body = &mut boxed[at..at + child.size as usize];
        match (&child.kind, level) {
            (kind, _) if METADATA.contains(&kind) => removed.extend(blank(body)),
            (b"mvhd", Level::Movie) | (b"tkhd", Level::Track) | (b"mdhd", Level::Media) => {
                let had_times = zero_times(body, child.len)?;
                removed.extend(had_times.then_some(Removed::Time));
            }
            (b"trak", Level::Movie) => removed.extend(clean_container(body, Level::Track)?),
            (b"mdia", Level::Track) => {
                if handler(body) == Some(*b"meta") {
                    return None;
                }
                removed.extend(clean_container(body, Level::Media)?);
            }
            _ => {}
        }
        at += child.size as usize;
    }
    Some(removed)
}

/// The handler type of a media box (`vide`, `soun`, `meta`, ...).
fn handler(mdia: &[u8]) -> Option<[u8; 4]> {
    let own = header(mdia, mdia.len() as u64)?;
    let mut at = own.len;
    while at < mdia.len() {
        let child = header(&mdia[at..], (mdia.len() - at) as u64)?;
        if &child.kind == b"hdlr" {
            // version and flags (4), pre_defined (4), then the handler type.
            let from = at + child.len + 8;
            return mdia.get(from..from + 4)?.try_into().ok();
        }
        at += child.size as usize;
    }
    None
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
                be(&[2]),
            ]
            .concat(),
        );
        let tkhd = full(
            b"tkhd",
            3,
            &[
                be(&[created, modified, 1, 0, 2000, 0, 0, 0, 0]),
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
            &[be(&[0]), b"vide".to_vec(), vec![0; 12], b"Video\0".to_vec()].concat(),
        );
        let entry = boxed(
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
        let stbl = boxed(
            b"stbl",
            &[
                full(b"stsd", 0, &[be(&[1]), entry].concat()),
                full(b"stts", 0, &be(&[1, 1, 2000])),
                full(b"stsc", 0, &be(&[1, 1, 1, 1])),
                full(b"stsz", 0, &be(&[0, 1, 64])),
                full(b"stco", 0, &be(&[1, sample_at])),
            ]
            .concat(),
        );
        let dinf = boxed(
            b"dinf",
            &full(b"dref", 0, &[be(&[1]), full(b"url ", 1, &[])].concat()),
        );
        let minf = boxed(b"minf", &[full(b"vmhd", 1, &[0; 8]), dinf, stbl].concat());
        let mdia = boxed(b"mdia", &[mdhd, hdlr, minf].concat());
        let trak = boxed(b"trak", &[tkhd, mdia].concat());
        let moov = boxed(b"moov", &[mvhd, trak].concat());
        let ftyp = boxed(
            b"ftyp",
            &[brand.as_slice(), &be(&[512]), b"isomiso2mp41"].concat(),
        );
        [ftyp, moov].concat()
    };
    let head = build(0);
    let head = build(head.len() as u32 + 8);
    let sample: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
    [head, boxed(b"mdat", &sample)].concat()
}

//! A read-only view of a file that hands out copies: bulk reads and value-log record reads copy out
//! of a memory mapping, other point reads (table blocks) use positional reads (`pread`).
//!
//! Why two paths. A mapping is the cheap way to stream a file: compaction inputs, value-log rewrite
//! scans and table metadata are read in runs of 64 KiB and more, one page fault per page or folio
//! and a `memcpy`, no system call per read. For random point reads it is the wrong tool: every page
//! a read touches stays mapped into the process — and counts in its resident set — on top of the
//! page cache and the block cache's copies, and random reads cannot be kept from mapping whole
//! tables: the page cache holds large folios and one fault maps a whole folio (32 random 4 KiB
//! reads mapped 36 MiB of a 48 MiB file). In the 1M-key peer benchmark the mapped table pages were
//! ~44 MiB of the peak (file-backed RSS 87–88 MiB during reads, 43 MiB — Node's own binary — once
//! block-sized reads used `pread`), and block misses got cheaper (one system call, no faults).
//! So reads shorter than `MAPPED_READ_MIN_BYTES` use `pread`; longer ones copy from the mapping.
//!
//! The mapping is made on the first bulk read (a view that only serves point reads never maps).
//! Each bulk read drops the page mappings of the range it copied with `madvise(MADV_DONTNEED)`
//! (one system call per 64 KiB or more copied): the pages stay in the OS page cache, and a
//! compaction streaming a dozen input tables keeps nothing mapped between reads. (Releasing every
//! 8 MiB instead let each input's view hold up to 8 MiB mapped at once.)
//!
//! Value-log record reads (`read_record_value`: a whole frame checked, one value copied out) are
//! the exception: a 16 KiB value read through `pread` costs a system call and a copy through the
//! kernel, ~3 µs more than a `memcpy` from pages already mapped. Their views keep their mapping
//! and its pages until closed — the pages a read touched stay in the resident set, as in an LMDB
//! process — within a process-wide budget (`POINT_MAPPED_MAX_BYTES` of viewed files); views past
//! it use `pread` into a per-thread scratch buffer. Table views never make record reads, so
//! tables stay on `pread`.
//!
//! The hazard of a mapping is a file truncated underneath it, where touching a page past the new
//! end raises SIGBUS. A bulk read therefore asks the kernel for the file's current length first
//! and refuses with `SHORT_FILE` when the range is gone; a positional read sees a truncation as a
//! short read (`SHORT_FILE` too). A truncation racing between the check and the copy can still
//! fault; SiltDB never truncates files that readers have open, so the check is there for foreign
//! interference, not for SiltDB's own writes.
//! Record reads skip the length check (a system call per read is what the mapping saves): a
//! value-log segment is never truncated while it is read — open truncates an unsealed tail before
//! any view exists, never below a length a reader was given.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use memmap2::{Mmap, MmapOptions, UncheckedAdvice};

use crate::error::{Error, Result};
use crate::frame;

/// Reads at least this long copy from the mapping; shorter ones (a table block, a value-log frame)
/// use `pread`.
pub const MAPPED_READ_MIN_BYTES: u64 = 64 << 10;

/// At most this many bytes of files, process-wide, serve record reads (`read_record_value`) from a
/// mapping that is kept, pages and all; views opened past it use `pread`. A kept mapping is what makes
/// a large-value read a `memcpy` (no system call, no fault once the pages are mapped), and its pages
/// count in the resident set: the budget bounds that growth.
pub const POINT_MAPPED_MAX_BYTES: u64 = 256 << 20;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[derive(Debug)]
pub struct FileView {
    length: u64,
    file: Option<File>,
    /// Made on the first bulk read; `None` inside when mapping failed (bulk reads then use `pread`).
    map: OnceLock<Option<Mmap>>,
    /// Whether record reads copy from the mapping: decided on the first one, against the
    /// process-wide budget (`POINT_MAPPED_MAX_BYTES`).
    point_mapped: OnceLock<bool>,
}

/// Bytes of value-log segments whose views serve record reads from their mapping, process-wide.
static POINT_MAPPED_BYTES: AtomicU64 = AtomicU64::new(0);

/// One positional read at `offset` into `target`: the bytes read (0 at the end of the file).
#[cfg(unix)]
fn read_at(file: &File, target: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, target, offset)
}

#[cfg(windows)]
fn read_at(file: &File, target: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, target, offset)
}

impl FileView {
    /// Open `path` read-only. The view exposes exactly `expected_length` bytes (`SHORT_FILE` when the
    /// file is shorter), or the file's length at open when `None`.
    pub fn open(path: impl AsRef<Path>, expected_length: Option<u64>) -> Result<Self> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::invalid_argument("the path of a file view is empty"));
        }
        let file =
            File::open(path).map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        let metadata = file
            .metadata()
            .map_err(|e| Error::io(format!("stat {}", path.display()), e))?;
        // A directory opens fine on Unix and a device reports no useful length: only regular files
        // can back a view.
        if !metadata.is_file() {
            let kind = if metadata.is_dir() {
                io::ErrorKind::IsADirectory
            } else {
                io::ErrorKind::InvalidInput
            };
            return Err(Error::io(
                format!("view {}", path.display()),
                io::Error::new(kind, "not a regular file"),
            ));
        }
        let file_length = metadata.len();
        let length = expected_length.unwrap_or(file_length);
        if file_length < length {
            return Err(Error::ShortFile(format!(
                "{} holds {file_length} bytes, {length} expected",
                path.display()
            )));
        }
        if usize::try_from(length).is_err() {
            return Err(Error::invalid_argument(format!(
                "{length} bytes do not fit the address space"
            )));
        }
        Ok(FileView {
            length,
            file: Some(file),
            map: OnceLock::new(),
            point_mapped: OnceLock::new(),
        })
    }

    /// The number of readable bytes.
    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    pub fn is_closed(&self) -> bool {
        self.file.is_none()
    }

    /// Copy `length` bytes starting at `offset`.
    pub fn read(&self, offset: u64, length: u64) -> Result<Vec<u8>> {
        self.check_range(offset, length)?;
        let mut bytes = vec![0u8; length as usize];
        self.read_fully(offset, &mut bytes)?;
        Ok(bytes)
    }

    /// Copy `target.len()` bytes starting at `offset` into `target`: no allocation.
    pub fn read_into(&self, offset: u64, target: &mut [u8]) -> Result<()> {
        self.check_range(offset, target.len() as u64)?;
        self.read_fully(offset, target)
    }

    /// The value of record `index` of the value-log frame at `[offset, offset + length)`, copied
    /// into `out` after the frame's checks (`frame::copy_record_value`: checksum, the record's key
    /// is `key`, its value is `out.len()` bytes); `Ok(false)` when the frame is compressed. One call
    /// per point read, served from the view's mapping: no system call once the pages are mapped.
    /// Errors of `read_into`, and `CORRUPTION`.
    pub fn read_record_value(
        &self,
        offset: u64,
        length: u64,
        index: usize,
        key: &[u8],
        out: &mut [u8],
    ) -> Result<bool> {
        self.check_range(offset, length)?;
        let file = self
            .file
            .as_ref()
            .expect("check_range refuses a closed view");
        if let Some(map) = self.point_mapping(file) {
            let frame = &map[offset as usize..(offset + length) as usize];
            return frame::copy_record_value(frame, index, key, out);
        }
        // Past the budget: one positional read into this thread's scratch buffer (the value is
        // copied out of it, so the buffer is free again when the call returns).
        SCRATCH.with(|scratch| {
            let mut frame = scratch.borrow_mut();
            frame.resize(length as usize, 0);
            self.pread_fully(file, offset, &mut frame)?;
            frame::copy_record_value(&frame, index, key, out)
        })
    }

    /// `CLOSED` after `close()`, `OUT_OF_RANGE` when the range leaves the view.
    fn check_range(&self, offset: u64, length: u64) -> Result<()> {
        if self.file.is_none() {
            return Err(Error::Closed("the file view is closed".into()));
        }
        offset
            .checked_add(length)
            .filter(|&end| end <= self.length)
            .map(|_| ())
            .ok_or_else(|| {
                Error::OutOfRange(format!(
                    "read of {length} bytes at {offset} is past the view's {} bytes",
                    self.length
                ))
            })
    }

    /// Fill `target` from `offset` on (a range `check_range` accepted): from the mapping for a bulk
    /// read, else with positional reads.
    fn read_fully(&self, offset: u64, target: &mut [u8]) -> Result<()> {
        let file = self
            .file
            .as_ref()
            .expect("check_range refuses a closed view");
        if target.len() as u64 >= MAPPED_READ_MIN_BYTES {
            if let Some(map) = self.mapping(file) {
                return self.copy_mapped(file, map, offset, target);
            }
        }
        self.pread_fully(file, offset, target)
    }

    /// The mapping record reads copy from, while the process-wide budget covers this view; `None`
    /// past it (or when mapping failed). Pages it maps stay mapped until the view closes: record
    /// reads are random and small, and releasing pages after each would make every read fault.
    fn point_mapping(&self, file: &File) -> Option<&Mmap> {
        let granted = *self.point_mapped.get_or_init(|| {
            POINT_MAPPED_BYTES
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                    used.checked_add(self.length)
                        .filter(|&total| total <= POINT_MAPPED_MAX_BYTES)
                })
                .is_ok()
        });
        if granted {
            self.mapping(file)
        } else {
            None
        }
    }

    /// The view's mapping, made on first use. A failed `mmap` (address space, a file system that
    /// cannot map) is remembered as `None`: bulk reads fall back to `pread`, which reads the same
    /// bytes.
    fn mapping(&self, file: &File) -> Option<&Mmap> {
        self.map
            .get_or_init(|| {
                let length = usize::try_from(self.length).ok()?;
                if length == 0 {
                    return None;
                }
                // SAFETY: the mapping is read-only and private to this view, and no reference into
                // it ever leaves this module: `copy_mapped` copies after checking the file still
                // covers the range. What remains is memmap2's documented caveat (another process
                // changing the file under the map), handled as the module documentation describes.
                #[allow(unsafe_code)]
                let map = unsafe { MmapOptions::new().len(length).map(file) };
                map.ok()
            })
            .as_ref()
    }

    /// Copy from the mapping after checking the file still holds the range (a truncated file would
    /// fault instead of failing), then release the mapped pages of the range.
    fn copy_mapped(&self, file: &File, map: &Mmap, offset: u64, target: &mut [u8]) -> Result<()> {
        let end = offset + target.len() as u64;
        let current = file
            .metadata()
            .map_err(|e| Error::io("stat the viewed file", e))?
            .len();
        if current < end {
            return Err(Error::ShortFile(format!(
                "the file was truncated to {current} bytes under the view; bytes {offset}..{end} are gone"
            )));
        }
        target.copy_from_slice(&map[offset as usize..end as usize]);
        // SAFETY: nothing refers into the mapping (reads copy out), and it maps a file read-only,
        // so dropping pages only means the next touch maps them again from the page cache — also
        // for a read of the same view on another thread. The advice is a hint: a failure leaves
        // the pages mapped, harmlessly. memmap2 aligns the start down to a page.
        #[allow(unsafe_code)]
        let _ = unsafe {
            map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset as usize, target.len())
        };
        Ok(())
    }

    /// Positional reads until `target` is full. The end of the file before the end of the range
    /// means the file was truncated under the view: `SHORT_FILE`.
    fn pread_fully(&self, file: &File, offset: u64, target: &mut [u8]) -> Result<()> {
        let mut done = 0usize;
        while done < target.len() {
            let at = offset + done as u64;
            match read_at(file, &mut target[done..], at) {
                Ok(0) => {
                    return Err(Error::ShortFile(format!(
                        "the file ends at {at} under the view, inside the {} bytes it exposes: it was truncated",
                        self.length
                    )))
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("read the viewed file", e)),
            }
        }
        Ok(())
    }

    /// Unmap and close the file. Idempotent.
    pub fn close(&mut self) {
        if self.point_mapped.get() == Some(&true) {
            POINT_MAPPED_BYTES.fetch_sub(self.length, Ordering::Relaxed);
        }
        self.point_mapped = OnceLock::new();
        self.map = OnceLock::new();
        self.file = None;
    }
}

impl Drop for FileView {
    /// A view dropped without `close()` (its JavaScript object collected) returns its share of the
    /// record-read budget too.
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::path::PathBuf;

    /// A file in the system temp directory, removed when the test ends.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, contents: &[u8]) -> Self {
            let path =
                std::env::temp_dir().join(format!("siltdb-core-{}-{name}", std::process::id()));
            let mut file = File::create(&path).unwrap();
            file.write_all(contents).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn reads_copies_of_ranges() {
        let data = pattern(10_000);
        let file = TempFile::new("ranges", &data);
        let view = FileView::open(&file.0, None).unwrap();
        assert_eq!(view.len(), 10_000);
        assert!(!view.is_closed());
        assert_eq!(view.read(0, 10_000).unwrap(), data);
        assert_eq!(view.read(4095, 3).unwrap(), &data[4095..4098]);
        assert_eq!(view.read(10_000, 0).unwrap(), b"");
        assert_eq!(view.read(9_999, 1).unwrap(), [data[9_999]]);
    }

    #[test]
    fn reads_into_buffers_at_scattered_offsets() {
        let len = 3 * 1024 * 1024 + 123;
        let data = pattern(len);
        let file = TempFile::new("scattered", &data);
        let view = FileView::open(&file.0, None).unwrap();
        let mut target = vec![0u8; 64 * 1024 + 7];
        let mut copied = 0u64;
        let mut offset = 0usize;
        while copied < 24 << 20 {
            let at = offset % (len - target.len());
            view.read_into(at as u64, &mut target).unwrap();
            assert_eq!(&target[..], &data[at..at + target.len()]);
            copied += target.len() as u64;
            offset += 1_000_003;
        }
        assert_eq!(view.read(len as u64 - 5, 5).unwrap(), &data[len - 5..]);
        assert_eq!(
            view.read_into(len as u64 - 4, &mut [0u8; 5])
                .unwrap_err()
                .code(),
            "OUT_OF_RANGE"
        );
    }

    #[test]
    fn expected_length_limits_the_view() {
        let file = TempFile::new("expected", &pattern(5000));
        let view = FileView::open(&file.0, Some(100)).unwrap();
        assert_eq!(view.len(), 100);
        assert_eq!(view.read(90, 10).unwrap(), &pattern(100)[90..]);
        assert_eq!(view.read(95, 10).unwrap_err().code(), "OUT_OF_RANGE");
        let whole = FileView::open(&file.0, Some(5000)).unwrap();
        assert_eq!(whole.len(), 5000);
    }

    #[test]
    fn short_file() {
        let file = TempFile::new("short", &pattern(100));
        let err = FileView::open(&file.0, Some(101)).unwrap_err();
        assert_eq!(err.code(), "SHORT_FILE", "{err}");
    }

    #[test]
    fn zero_length_files() {
        let file = TempFile::new("empty", b"");
        let view = FileView::open(&file.0, None).unwrap();
        assert_eq!(view.len(), 0);
        assert!(view.is_empty());
        assert_eq!(view.read(0, 0).unwrap(), b"");
        assert_eq!(view.read(0, 1).unwrap_err().code(), "OUT_OF_RANGE");
        let nonempty = TempFile::new("empty-view", b"abc");
        let view = FileView::open(&nonempty.0, Some(0)).unwrap();
        assert_eq!(view.read(0, 0).unwrap(), b"");
    }

    #[test]
    fn out_of_range() {
        let file = TempFile::new("range", &pattern(64));
        let view = FileView::open(&file.0, None).unwrap();
        for (offset, length) in [(0, 65), (64, 1), (65, 0), (u64::MAX, 1), (1, u64::MAX)] {
            assert_eq!(
                view.read(offset, length).unwrap_err().code(),
                "OUT_OF_RANGE",
                "{offset}+{length}"
            );
        }
    }

    #[test]
    fn point_and_bulk_reads_agree_at_the_threshold() {
        let len = 4 * MAPPED_READ_MIN_BYTES as usize + 17;
        let data = pattern(len);
        let file = TempFile::new("threshold", &data);
        let view = FileView::open(&file.0, None).unwrap();
        let limit = MAPPED_READ_MIN_BYTES as usize;
        for (at, length) in [
            (0, limit - 1),
            (0, limit),
            (3, limit + 1),
            (len - limit, limit),
        ] {
            assert_eq!(
                view.read(at as u64, length as u64).unwrap(),
                &data[at..at + length],
                "{at}+{length}"
            );
        }
        // Only a bulk read maps the file.
        let point_only = FileView::open(&file.0, None).unwrap();
        point_only.read(0, 4096).unwrap();
        assert!(point_only.map.get().is_none());
        point_only.read(0, MAPPED_READ_MIN_BYTES).unwrap();
        assert!(point_only.map.get().is_some_and(|m| m.is_some()));
    }

    #[test]
    fn truncated_under_the_view_is_short_file() {
        let file = TempFile::new("truncated", &pattern(64 * 1024));
        let view = FileView::open(&file.0, None).unwrap();
        File::options()
            .write(true)
            .open(&file.0)
            .unwrap()
            .set_len(100)
            .unwrap();
        assert_eq!(view.read(0, 100).unwrap(), &pattern(100)[..]);
        assert_eq!(view.read(32 * 1024, 10).unwrap_err().code(), "SHORT_FILE");
        assert_eq!(view.read(50, 51).unwrap_err().code(), "SHORT_FILE");
        // A bulk read takes the mapped path, which checks the length before touching a page.
        assert_eq!(
            view.read(0, MAPPED_READ_MIN_BYTES).unwrap_err().code(),
            "SHORT_FILE"
        );
        assert_eq!(view.len(), 64 * 1024);
    }

    #[test]
    fn closed_views() {
        let file = TempFile::new("closed", &pattern(10));
        let mut view = FileView::open(&file.0, None).unwrap();
        view.close();
        assert!(view.is_closed());
        assert_eq!(view.read(0, 1).unwrap_err().code(), "CLOSED");
        assert_eq!(view.read(100, 1).unwrap_err().code(), "CLOSED");
        view.close();
        assert!(view.is_closed());
        assert_eq!(view.len(), 10);
    }

    #[test]
    fn missing_files_and_directories_are_io_errors() {
        let err = FileView::open("/nonexistent/siltdb/file", None).unwrap_err();
        assert_eq!(err.code(), "IO_ERROR");
        assert!(
            err.to_string().contains("/nonexistent/siltdb/file"),
            "{err}"
        );
        let err = FileView::open(std::env::temp_dir(), None).unwrap_err();
        assert_eq!(err.code(), "IO_ERROR");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn an_empty_path_is_an_invalid_argument() {
        assert_eq!(
            FileView::open("", None).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
    }

    /// Frames end to end after a 64-byte preamble, as in a segment: (offset, length) of each.
    fn frames_file(name: &str, frames: &[Vec<u8>]) -> (TempFile, Vec<(u64, u64)>) {
        let mut bytes = pattern(64);
        let mut at = Vec::new();
        for frame in frames {
            at.push((bytes.len() as u64, frame.len() as u64));
            bytes.extend_from_slice(frame);
        }
        (TempFile::new(name, &bytes), at)
    }

    fn frame_of(keys: &[&[u8]], values: &[&[u8]]) -> Vec<u8> {
        let keys: crate::packed::PackedBuf = keys.iter().copied().collect();
        let values: crate::packed::PackedBuf = values.iter().copied().collect();
        frame::encode(keys.as_packed(), values.as_packed(), false).unwrap()
    }

    #[test]
    fn record_reads_from_the_kept_mapping_and_through_pread_agree() {
        let large = crate::lz4::tests::random_bytes(16 << 10, 11);
        let frames = [
            frame_of(&[b"large"], &[&large]),
            frame_of(&[b"a", b"b"], &[b"one", b"two"]),
        ];
        let (file, at) = frames_file("record-reads", &frames);
        let mapped = FileView::open(&file.0, None).unwrap();
        let positional = FileView::open(&file.0, None).unwrap();
        positional.point_mapped.set(false).unwrap();
        for view in [&mapped, &positional] {
            let mut out = vec![0u8; large.len()];
            assert!(view
                .read_record_value(at[0].0, at[0].1, 0, b"large", &mut out)
                .unwrap());
            assert_eq!(out, large);
            let mut out = [0u8; 3];
            assert!(view
                .read_record_value(at[1].0, at[1].1, 1, b"b", &mut out)
                .unwrap());
            assert_eq!(&out, b"two");
            let wrong_key = view.read_record_value(at[1].0, at[1].1, 1, b"a", &mut out);
            assert_eq!(wrong_key.unwrap_err().code(), "CORRUPTION");
            let past = view.read_record_value(at[1].0, at[1].1 + 1, 1, b"b", &mut out);
            assert_eq!(past.unwrap_err().code(), "OUT_OF_RANGE");
        }
        // The mapped view took a share of the budget; the positional one never maps.
        assert_eq!(mapped.point_mapped.get(), Some(&true));
        assert!(mapped.map.get().is_some_and(|m| m.is_some()));
        assert!(positional.map.get().is_none());
    }

    #[test]
    fn record_reads_see_a_damaged_frame_as_corruption() {
        let value = crate::lz4::tests::random_bytes(5000, 12);
        let frame = frame_of(&[b"k"], &[&value]);
        for at in [0usize, 7, 16, 30, 2000, frame.len() - 1] {
            let mut damaged = frame.clone();
            damaged[at] ^= 0x10;
            let (file, ranges) = frames_file(&format!("record-damaged-{at}"), &[damaged]);
            for pread in [false, true] {
                let view = FileView::open(&file.0, None).unwrap();
                if pread {
                    view.point_mapped.set(false).unwrap();
                }
                let mut out = vec![0u8; value.len()];
                let error = view
                    .read_record_value(ranges[0].0, ranges[0].1, 0, b"k", &mut out)
                    .unwrap_err();
                assert_eq!(
                    error.code(),
                    "CORRUPTION",
                    "byte {at}, pread {pread}: {error}"
                );
            }
        }
    }

    #[test]
    fn record_reads_after_close_are_closed() {
        let (file, at) = frames_file("record-closed", &[frame_of(&[b"k"], &[b"v"])]);
        let mut view = FileView::open(&file.0, None).unwrap();
        let mut out = [0u8; 1];
        assert!(view
            .read_record_value(at[0].0, at[0].1, 0, b"k", &mut out)
            .unwrap());
        view.close();
        assert!(view.point_mapped.get().is_none());
        let error = view.read_record_value(at[0].0, at[0].1, 0, b"k", &mut out);
        assert_eq!(error.unwrap_err().code(), "CLOSED");
    }
}

//! A read-only, memory-mapped view of a file that hands out copies.
//!
//! Reads copy out of the mapping so `close()` can unmap at once: no JavaScript buffer ever points
//! into released memory. The hazard of a mapping is a file truncated underneath it, where touching
//! a page past the new end raises SIGBUS and kills the process. Every read therefore asks the
//! kernel for the file's current length first (one `fstat`-class call on the open descriptor) and
//! refuses with `SHORT_FILE` when the range is gone. A truncation racing between that check and the
//! copy can still fault; SiltDB never truncates files that readers have open, so the check is there
//! for foreign interference (another process, a careless `truncate`), not for SiltDB's own writes.
//!
//! Every page a read touches stays mapped into the process — and counts in its resident set —
//! until the view is closed, so random reads over a long-lived table would slowly make the whole
//! table resident twice over (once in the page cache, once in the process's accounting, on top of
//! the block cache's copies). After `RELEASE_AFTER_BYTES` of reads the view therefore drops its
//! page mappings with `madvise(MADV_DONTNEED)`: the pages stay in the OS page cache, the next touch
//! maps them again without I/O, and the process's resident set stops growing with the table.
//!
//! Measured (Linux 6.18, ext4, 48 MiB file): sequential 1 MiB reads keep ~14 MiB mapped instead of
//! the whole file, at no cost in throughput. Random 4 KiB reads are not bounded by it: the page
//! cache holds large folios and one fault maps a whole folio (32 random reads mapped 36 MiB), so
//! a view is fully mapped again within a few dozen reads; releasing often enough to matter (every
//! 64 KiB) cut random-read throughput 6×, so the threshold stays coarse.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapOptions, UncheckedAdvice};

use crate::error::{Error, Result};

/// Bytes a view copies out before it releases its mapped pages: coarse enough that the `madvise`
/// costs nothing next to the copies (one call per thousands of block reads), small enough that a
/// table's mapped pages stay a few MiB whatever its size.
pub const RELEASE_AFTER_BYTES: u64 = 8 << 20;

#[derive(Debug)]
pub struct FileView {
    length: u64,
    state: Option<Open>,
}

#[derive(Debug)]
struct Open {
    file: File,
    /// `None` for a zero-length view: mapping zero bytes is an error on most systems.
    map: Option<Mmap>,
    /// Bytes copied out since the mapped pages were last released.
    read_since_release: AtomicU64,
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
        let map = if length == 0 {
            None
        } else {
            let map_length = usize::try_from(length).map_err(|_| {
                Error::invalid_argument(format!("{length} bytes do not fit the address space"))
            })?;
            // SAFETY: the mapping is read-only and private to this view, and we never hand out a
            // reference into it: `read` copies after checking the file still covers the range.
            // What remains is the documented caveat of memmap2 (another process changing the file
            // under the map), handled as the module documentation describes.
            #[allow(unsafe_code)]
            let map = unsafe { MmapOptions::new().len(map_length).map(&file) };
            let map = map.map_err(|e| Error::io(format!("mmap {}", path.display()), e))?;
            Some(map)
        };
        Ok(FileView {
            length,
            state: Some(Open {
                file,
                map,
                read_since_release: AtomicU64::new(0),
            }),
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
        self.state.is_none()
    }

    /// Copy `length` bytes starting at `offset`.
    pub fn read(&self, offset: u64, length: u64) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.with_range(offset, length, |range| bytes.extend_from_slice(range))?;
        Ok(bytes)
    }

    /// Copy `target.len()` bytes starting at `offset` into `target`: no allocation.
    pub fn read_into(&self, offset: u64, target: &mut [u8]) -> Result<()> {
        self.with_range(offset, target.len() as u64, |range| {
            target.copy_from_slice(range)
        })
    }

    /// Check the range (in the view, still in the file) and hand it to `copy`, which must not keep
    /// it: the mapping may be released right after.
    fn with_range(&self, offset: u64, length: u64, copy: impl FnOnce(&[u8])) -> Result<()> {
        let Some(open) = &self.state else {
            return Err(Error::Closed("the file view is closed".into()));
        };
        let end = offset
            .checked_add(length)
            .filter(|&end| end <= self.length)
            .ok_or_else(|| {
                Error::OutOfRange(format!(
                    "read of {length} bytes at {offset} is past the view's {} bytes",
                    self.length
                ))
            })?;
        if length == 0 {
            return Ok(());
        }
        let current = open
            .file
            .metadata()
            .map_err(|e| Error::io("stat the viewed file", e))?
            .len();
        if current < end {
            return Err(Error::ShortFile(format!(
                "the file was truncated to {current} bytes under the view; bytes {offset}..{end} are gone"
            )));
        }
        let map = open
            .map
            .as_ref()
            .expect("a non-empty range implies a non-empty view, which is mapped");
        copy(&map[offset as usize..end as usize]);
        let read = open.read_since_release.fetch_add(length, Ordering::Relaxed) + length;
        if read >= RELEASE_AFTER_BYTES {
            open.read_since_release.store(0, Ordering::Relaxed);
            // SAFETY: the mapping is a read-only view of a file and nothing refers into it (reads
            // copy out), so dropping its pages only means the next touch maps them again from the
            // page cache. The advice is only a hint: a failure leaves the pages mapped, harmlessly.
            #[allow(unsafe_code)]
            let _ = unsafe { map.unchecked_advise(UncheckedAdvice::DontNeed) };
        }
        Ok(())
    }

    /// Unmap and close the file. Idempotent.
    pub fn close(&mut self) {
        self.state = None;
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
    fn reads_into_buffers_and_stay_right_across_page_releases() {
        let len = 3 * 1024 * 1024 + 123;
        let data = pattern(len);
        let file = TempFile::new("release", &data);
        let view = FileView::open(&file.0, None).unwrap();
        // Several times RELEASE_AFTER_BYTES of reads: the pages are released and mapped again.
        let mut target = vec![0u8; 64 * 1024 + 7];
        let mut copied = 0u64;
        let mut offset = 0usize;
        while copied < 3 * RELEASE_AFTER_BYTES {
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
    fn truncated_under_the_map_is_short_file_not_sigbus() {
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
}

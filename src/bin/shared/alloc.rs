//! The binaries' global allocator: mimalloc, asked through its plain
//! `mi_malloc` for every block whose alignment any mimalloc block has.
//!
//! The `mimalloc` crate's allocator calls `mi_malloc_aligned` for every
//! layout. When the current page has no free block, mimalloc 3 serves an
//! aligned request of a size that is not a power of two by over-allocating
//! (`size + alignment`) and then frees through its slower aligned path:
//! about 4.6 of a server's 25 allocations per request went that way
//! (`benches/perf.sh callgrind`). Every mimalloc block is aligned to a
//! word (8 bytes), so layouts that ask for no more take the plain path.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment every mimalloc block has (its bins are word multiples).
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc, without its aligned path for word-aligned layouts.
pub struct MiMalloc;

// SAFETY: every method forwards to mimalloc, which returns null or a block
// of at least `layout.size()` bytes at `layout.align()` (plain calls only
// when the alignment is at most a word, which every block has), and frees
// or resizes only blocks it returned.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_malloc(layout.size()) as *mut u8
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_zalloc(layout.size()) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator.
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

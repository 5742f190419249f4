//! Feeds any bytes to the scenario loader as a file's content: it must
//! never panic, every error must be located (`file:line:col`) or be about
//! the whole file, and the error text must stay small.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.yaml");
    let Err(error) = tcprun::scenario::load_bytes(path, data.to_vec()) else {
        return;
    };
    let diagnostics = error.diagnostics();
    assert!(!diagnostics.is_empty(), "an error without a diagnostic");
    for diagnostic in diagnostics {
        let whole_file = diagnostic.line == 0 && diagnostic.col == 0;
        let located = diagnostic.line >= 1 && diagnostic.col >= 1 && diagnostic.width >= 1;
        assert!(whole_file || located, "{diagnostic:?}");
        if located {
            let lines = data.split(|&b| b == b'\n' || b == b'\r').count();
            assert!(diagnostic.line <= lines, "past the end: {diagnostic:?}");
        }
    }
    let text = error.to_string();
    // 20 diagnostics of a few lines each, each source line cut to ~100 characters.
    assert!(text.len() < 64 * 1024, "{} bytes of errors", text.len());
});

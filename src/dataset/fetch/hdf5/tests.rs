//! The reader against MAT-files written by the HDF5 library (`tests/fixtures/mat/`).

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mat")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixtures' image and mask, as `make_fixtures.py` documents them (HDF5 order: x, then y).
fn check_arrays(file: &Hdf5File<'_>) {
    let image = file.read("/cjdata/image").unwrap();
    assert_eq!(image.dims, [20, 12]);
    for x in 0..20 {
        for y in 0..12 {
            let expected = (x * 10 + y * 3) as f64 - 40.0;
            assert_eq!(image.values[x * 12 + y], expected, "pixel ({x}, {y})");
        }
    }
    let mask = file.read("cjdata/tumorMask").unwrap();
    assert_eq!(mask.dims, [20, 12]);
    let on: usize = mask.values.iter().filter(|&&v| v == 1.0).count();
    assert_eq!(on, 5 * 6);
    assert_eq!(mask.values[2 * 12 + 3], 1.0);
    assert_eq!(mask.values[7 * 12 + 3], 0.0);
    let border = file.read("/cjdata/tumorBorder").unwrap();
    assert_eq!(border.values, [1.5, 2.5, 3.5, 4.5]);
    let pid = file.read("/cjdata/PID").unwrap();
    let text: String = pid.values.iter().map(|&c| char::from(c as u8)).collect();
    assert_eq!(text, "MR040");
}

#[test]
fn reads_matlab_v73_files_in_the_original_format() {
    for (name, label) in [("meningioma-v73.mat", 1.0), ("glioma-v73.mat", 2.0)] {
        let bytes = fixture(name);
        let file = Hdf5File::parse(&bytes).unwrap();
        assert_eq!(
            file.read("/cjdata/label").unwrap().values,
            [label],
            "{name}"
        );
        check_arrays(&file);
    }
}

#[test]
fn reads_the_newer_format_with_link_messages_and_shuffle() {
    let bytes = fixture("pituitary-v108.mat");
    let file = Hdf5File::parse(&bytes).unwrap();
    assert_eq!(file.read("/cjdata/label").unwrap().values, [3.0]);
    check_arrays(&file);
}

#[test]
fn names_what_is_missing_or_wrong() {
    let bytes = fixture("meningioma-v73.mat");
    let file = Hdf5File::parse(&bytes).unwrap();
    let text = file.read("/cjdata/nothing").unwrap_err().to_string();
    assert!(text.contains("/cjdata/nothing"), "{text}");
    assert!(matches!(
        Hdf5File::parse(b"MATLAB 5.0 MAT-file, not HDF5"),
        Err(Hdf5Error::NotHdf5)
    ));
    // A file cut short is an error, never a panic.
    for cut in [600, 2_000, 4_000, 8_000, bytes.len() - 1] {
        let short = &bytes[..cut];
        if let Ok(file) = Hdf5File::parse(short) {
            let _ = file.read("/cjdata/image");
        }
    }
    // So is a file with flipped bytes anywhere.
    let mut damaged = bytes.clone();
    for at in (512..damaged.len()).step_by(97) {
        damaged[at] ^= 0x5A;
    }
    if let Ok(file) = Hdf5File::parse(&damaged) {
        let _ = file.read("/cjdata/image");
        let _ = file.read("/cjdata/label");
    }
}

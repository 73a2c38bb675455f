//! `harness data fetch` against a local mirror: synthetic archives in each source's published
//! layout, served on 127.0.0.1 at the paths the real hosts use.

use std::io::Write;
use std::path::{Path, PathBuf};

use harness::hashing::{md5_hex, sha256_hex as sha256};
use image::{GrayImage, ImageFormat, RgbImage};

use crate::support::field;
use crate::support::file_server::{FileServer, Route};
use crate::support::harness::{Finished, Harness};

/// A zip archive of `(entry, bytes)`.
fn zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn png(image: &GrayImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).unwrap();
    bytes.into_inner()
}

fn jpeg(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, image::Rgb(rgb)))
        .write_to(&mut bytes, ImageFormat::Jpeg)
        .unwrap();
    bytes.into_inner()
}

/// A mask with `on` in its left half.
fn half_mask(width: u32, height: u32, on: u8) -> GrayImage {
    GrayImage::from_fn(width, height, |x, _| {
        image::Luma([if x < width / 2 { on } else { 0 }])
    })
}

fn mat(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mat")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A NIfTI-1 volume of 16-bit values (unsigned 8-bit for labels), `values[x + nx*(y + ny*z)]`.
fn nifti(dims: (usize, usize, usize), values: &[i16], labels: bool) -> Vec<u8> {
    let mut bytes = vec![0u8; 352];
    bytes[0..4].copy_from_slice(&348i32.to_le_bytes());
    for (i, d) in [3, dims.0 as i16, dims.1 as i16, dims.2 as i16, 1, 1, 1, 1]
        .iter()
        .enumerate()
    {
        bytes[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    let (datatype, bitpix): (i16, i16) = if labels { (2, 8) } else { (4, 16) };
    bytes[70..72].copy_from_slice(&datatype.to_le_bytes());
    bytes[72..74].copy_from_slice(&bitpix.to_le_bytes());
    bytes[108..112].copy_from_slice(&352f32.to_le_bytes());
    bytes[344..348].copy_from_slice(b"n+1\0");
    for &v in values {
        if labels {
            bytes.push(v as u8);
        } else {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A figshare article listing of `(id, name, bytes)`.
fn figshare_listing(files: &[(u64, &str, &[u8])]) -> Vec<u8> {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|(id, name, bytes)| {
            serde_json::json!({
                "id": id, "name": name, "size": bytes.len(),
                "computed_md5": md5_hex(bytes),
                "download_url": format!("https://ndownloader.figshare.com/files/{id}"),
            })
        })
        .collect();
    serde_json::json!({ "id": 1, "files": files })
        .to_string()
        .into_bytes()
}

/// A harness whose cache is its own and whose mirror is `server`.
fn harness_for(server: &FileServer) -> Harness {
    let harness = Harness::new();
    let cache = harness.root().join("cache");
    harness
        .env("HARNESS_CACHE", &cache.to_string_lossy())
        .env("HARNESS_DATASET_MIRROR", &server.base_url())
}

fn dataset_dir(harness: &Harness, name: &str) -> PathBuf {
    harness.root().join("cache/datasets").join(name)
}

fn downloads_dir(harness: &Harness, name: &str) -> PathBuf {
    harness.root().join("cache/downloads").join(name)
}

fn gray(path: &Path) -> GrayImage {
    let image = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(image.color(), image::ColorType::L8, "{}", path.display());
    image.into_luma8()
}

#[test]
fn without_a_name_it_lists_the_datasets() {
    let done = Harness::new().run(&["data", "fetch"]).expect_code(0);
    for name in [
        "bagls",
        "brain-tumour",
        "ham10000",
        "uterine-myoma",
        "chase-db1",
    ] {
        assert!(done.stdout.contains(name), "{}", done.stdout);
    }
    let unknown = Harness::new()
        .run(&["data", "fetch", "kvasir"])
        .expect_code(2);
    assert!(
        unknown.stderr.contains("bagls, brain-tumour"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_non_commercial_licence_is_shown_and_must_be_accepted_before_any_download() {
    let server = FileServer::start(Vec::new());
    let harness = harness_for(&server);
    let refused = harness.run(&["data", "fetch", "ham10000"]).expect_code(2);
    assert!(
        refused.stderr.contains("CC BY-NC 4.0"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("Tschandl P"),
        "the citation: {}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--accept-licence"),
        "{}",
        refused.stderr
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert!(!dataset_dir(&harness, "ham10000").exists());
}

/// The brain tumour set's four archives of N.mat files, and their figshare listing.
fn brain_tumour_server() -> FileServer {
    let archives = [
        (
            101,
            "brainTumorDataPublic_1-766.zip",
            zip(&[
                ("1.mat", mat("meningioma-v73.mat")),
                ("2.mat", mat("glioma-v73.mat")),
            ]),
        ),
        (
            102,
            "brainTumorDataPublic_767-1532.zip",
            zip(&[("767.mat", mat("pituitary-v108.mat"))]),
        ),
        (
            103,
            "brainTumorDataPublic_1533-2298.zip",
            zip(&[("1533.mat", mat("meningioma-v73.mat"))]),
        ),
        (
            104,
            "brainTumorDataPublic_2299-3064.zip",
            zip(&[("2299.mat", mat("glioma-v73.mat"))]),
        ),
    ];
    let listing: Vec<(u64, &str, &[u8])> = archives
        .iter()
        .map(|(id, name, bytes)| (*id, *name, bytes.as_slice()))
        .collect();
    let mut routes = vec![(
        "/v2/articles/1512427".to_string(),
        Route::File(figshare_listing(&listing)),
    )];
    for (id, _, bytes) in &archives {
        routes.push((
            format!("/ndownloader/files/{id}"),
            Route::File(bytes.clone()),
        ));
    }
    FileServer::start(routes)
}

#[test]
fn brain_tumour_keeps_meningioma_only_and_a_rerun_downloads_nothing() {
    let server = brain_tumour_server();
    let harness = harness_for(&server);
    let done = harness
        .run(&["data", "fetch", "brain-tumour"])
        .expect_code(0);

    // The licence comes before the first download.
    let licence = done.stderr.find("CC BY 4.0").expect("the licence is shown");
    let first_download = done
        .stderr
        .find("downloading")
        .expect("downloads are reported");
    assert!(licence < first_download, "{}", done.stderr);
    assert_eq!(field(&done.stdout, "dataset"), "brain-tumour");
    assert_eq!(field(&done.stdout, "pairs"), "2");

    let dir = dataset_dir(&harness, "brain-tumour");
    let pairs = harness::dataset::scan(&dir).unwrap();
    let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["1", "1533"], "label 1 (meningioma) only");
    let image = gray(&dir.join("images/1.png"));
    assert_eq!(
        image.dimensions(),
        (20, 12),
        "MATLAB's column-major order undone"
    );
    // Pixel (x, y) was x * 10 + y * 3 - 40: from -40 to 183, scaled to 0..255.
    assert_eq!(image.get_pixel(0, 0)[0], 0);
    assert_eq!(image.get_pixel(19, 11)[0], 255);
    let expected = ((10.0 * 10.0 + 5.0 * 3.0) / 223.0 * 255.0f64).round() as u8;
    assert_eq!(image.get_pixel(10, 5)[0], expected);
    let mask = gray(&dir.join("masks/1_seg.png"));
    assert!(mask.as_raw().iter().all(|&v| v == 0 || v == 255));
    assert_eq!(mask.as_raw().iter().filter(|&&v| v == 255).count(), 30);
    assert_eq!(
        (
            mask.get_pixel(2, 3)[0],
            mask.get_pixel(7, 3)[0],
            mask.get_pixel(2, 9)[0]
        ),
        (255, 0, 0)
    );

    let provenance = std::fs::read_to_string(dir.join("dataset.json")).unwrap();
    assert!(
        provenance.contains("\"skipped_other_labels\": 3"),
        "{provenance}"
    );
    assert!(
        provenance.contains("MD5 published by figshare"),
        "{provenance}"
    );
    let manifest =
        std::fs::read_to_string(downloads_dir(&harness, "brain-tumour").join("manifest.json"))
            .unwrap();
    assert!(
        manifest.contains("brainTumorDataPublic_1-766.zip"),
        "{manifest}"
    );

    // Again: the dataset is there, nothing is requested.
    let requests = server.requests().len();
    assert_eq!(
        requests,
        5,
        "one listing and four archives: {:?}",
        server.requests()
    );
    let again = harness
        .run(&["data", "fetch", "brain-tumour"])
        .expect_code(0);
    assert!(again.stderr.contains("already fetched"), "{}", again.stderr);
    assert_eq!(
        field(&again.stdout, "fingerprint"),
        field(&done.stdout, "fingerprint")
    );
    // Without the converted folder: the verified downloads are reused, not fetched again.
    std::fs::remove_dir_all(&dir).unwrap();
    let rebuilt = harness
        .run(&["data", "fetch", "brain-tumour"])
        .expect_code(0);
    assert!(
        rebuilt.stderr.contains("already downloaded and verified"),
        "{}",
        rebuilt.stderr
    );
    assert_eq!(
        field(&rebuilt.stdout, "fingerprint"),
        field(&done.stdout, "fingerprint")
    );
    assert_eq!(server.requests().len(), requests, "{:?}", server.requests());
}

#[test]
fn ham10000_colour_images_become_grayscale_with_binary_masks() {
    let part_1 = zip(&[("ISIC_0024306.jpg", jpeg(16, 12, [200, 90, 30]))]);
    let part_2 = zip(&[("ISIC_0024307.jpg", jpeg(16, 12, [10, 10, 10]))]);
    let masks = zip(&[
        (
            "HAM10000_segmentations_lesion_tschandl/ISIC_0024306_segmentation.png",
            png(&half_mask(16, 12, 255)),
        ),
        (
            "HAM10000_segmentations_lesion_tschandl/ISIC_0024307_segmentation.png",
            png(&half_mask(16, 12, 1)),
        ),
    ]);
    let files = [
        (11u64, "HAM10000_images_part_1.zip", &part_1),
        (12, "HAM10000_images_part_2.zip", &part_2),
        (13, "HAM10000_segmentations_lesion_tschandl.zip", &masks),
        (14, "HAM10000_metadata.tab", &Vec::new()),
    ];
    let listing: Vec<serde_json::Value> = files
        .iter()
        .map(|(id, name, bytes)| {
            serde_json::json!({"label": name, "dataFile": {
            "id": id, "filename": name, "filesize": bytes.len(),
            "checksum": {"type": "MD5", "value": md5_hex(bytes)}}})
        })
        .collect();
    let mut routes = vec![(
        "/api/datasets/:persistentId/versions/:latest-published/files?persistentId=doi:10.7910/DVN/DBW86T".to_string(),
        Route::File(serde_json::json!({"status": "OK", "data": listing}).to_string().into_bytes()),
    )];
    for (id, _, bytes) in &files {
        routes.push((
            format!("/api/access/datafile/{id}"),
            Route::File(bytes.to_vec()),
        ));
    }
    let server = FileServer::start(routes);
    let harness = harness_for(&server);
    let out = harness.root().join("ham");
    let done = harness
        .run(&[
            "data",
            "fetch",
            "ham10000",
            "--accept-licence",
            "--out",
            "ham",
        ])
        .expect_code(0);
    assert_eq!(field(&done.stdout, "pairs"), "2");
    assert!(
        !server.requests().iter().any(|r| r.target.ends_with("/14")),
        "only the archives the dataset needs: {:?}",
        server.requests()
    );
    let image = gray(&out.join("images/ISIC_0024306.png"));
    // Luma of (200, 90, 30), give or take JPEG's rounding.
    assert!(
        image.as_raw().iter().all(|&v| v.abs_diff(109) <= 4),
        "{image:?}"
    );
    for name in ["ISIC_0024306", "ISIC_0024307"] {
        let mask = gray(&out.join(format!("masks/{name}_seg.png")));
        assert_eq!(
            (mask.get_pixel(0, 0)[0], mask.get_pixel(15, 0)[0]),
            (255, 0),
            "{name}"
        );
    }
}

#[test]
fn uterine_myoma_slices_keep_label_3_as_the_mask() {
    let dims = (6, 4, 3);
    let volume: Vec<i16> = (0..6 * 4 * 3).map(|v| v * 10).collect();
    // Slice 0 unannotated; slice 1: uterine wall (1) and myoma (3); slice 2: cavity and cyst.
    let mut labels = vec![0i16; 6 * 4 * 3];
    for y in 0..4 {
        for x in 0..6 {
            labels[x + 6 * (y + 4)] = if x < 2 { 3 } else { 1 };
            labels[x + 6 * (y + 8)] = if x < 3 { 2 } else { 4 };
        }
    }
    let archive = zip(&[
        ("UMD/001/001.nii.gz", gzip(&nifti(dims, &volume, false))),
        ("UMD/001/001_seg.nii.gz", gzip(&nifti(dims, &labels, true))),
        ("UMD/002/002.nii.gz", gzip(&nifti(dims, &volume, false))),
        // Named .gz but not compressed, as some of the published masks are.
        ("UMD/002/002_seq.nii.gz", nifti(dims, &labels, true)),
        ("UMD/002/DICOM/IM0001", b"not a volume".to_vec()),
    ]);
    let server = FileServer::start(vec![
        (
            "/v2/articles/23541312".to_string(),
            Route::File(figshare_listing(&[(77, "UMD.zip", &archive)])),
        ),
        (
            "/ndownloader/files/77".to_string(),
            Route::File(archive.clone()),
        ),
    ]);
    let harness = harness_for(&server);
    let done = harness
        .run(&["data", "fetch", "uterine-myoma"])
        .expect_code(0);
    assert_eq!(field(&done.stdout, "pairs"), "4");
    let dir = dataset_dir(&harness, "uterine-myoma");
    let names: Vec<String> = harness::dataset::scan(&dir)
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["001_001", "001_002", "002_001", "002_002"]);
    let mask = gray(&dir.join("masks/002_001_seg.png"));
    assert_eq!(mask.dimensions(), (6, 4));
    for (x, y) in [(0, 0), (1, 3)] {
        assert_eq!(mask.get_pixel(x, y)[0], 255);
    }
    for (x, y) in [(2, 0), (5, 3)] {
        assert_eq!(mask.get_pixel(x, y)[0], 0, "label 1 is not myoma");
    }
    let empty = gray(&dir.join("masks/001_002_seg.png"));
    assert!(
        empty.as_raw().iter().all(|&v| v == 0),
        "labels 2 and 4 are not myoma"
    );
    // The volume 0..710 scaled to 0..255: voxel (0, 0, 1) is 240.
    let image = gray(&dir.join("images/001_001.png"));
    assert_eq!(
        image.get_pixel(0, 0)[0],
        (240.0f64 / 710.0 * 255.0).round() as u8
    );
}

/// A CHASEDB1.zip with two eyes.
fn chase_archive() -> Vec<u8> {
    let mut entries = Vec::new();
    for stem in ["Image_01L", "Image_01R"] {
        entries.push((format!("CHASEDB1/{stem}.jpg"), jpeg(24, 16, [200, 90, 30])));
        entries.push((
            format!("CHASEDB1/{stem}_1stHO.png"),
            png(&half_mask(24, 16, 1)),
        ));
        entries.push((
            format!("CHASEDB1/{stem}_2ndHO.png"),
            png(&half_mask(24, 16, 0)),
        ));
    }
    let entries: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    zip(&entries)
}

#[test]
fn an_interrupted_download_is_resumed_and_chase_db1_imported() {
    let archive = chase_archive();
    let server = FileServer::start(vec![(
        "/96/1/CHASEDB1.zip".to_string(),
        Route::CutShortOnce {
            bytes: archive.clone(),
            sent: archive.len() / 2,
        },
    )]);
    let harness = harness_for(&server);
    let cut: Finished = harness.run(&["data", "fetch", "chase-db1"]).expect_code(1);
    assert!(cut.stderr.contains("/96/1/CHASEDB1.zip"), "{}", cut.stderr);
    assert!(
        cut.stderr.contains("run the same command again to resume"),
        "{}",
        cut.stderr
    );
    let part = downloads_dir(&harness, "chase-db1").join("CHASEDB1.zip.part");
    assert_eq!(
        std::fs::metadata(&part).unwrap().len(),
        (archive.len() / 2) as u64
    );

    let done = harness.run(&["data", "fetch", "chase-db1"]).expect_code(0);
    assert_eq!(field(&done.stdout, "pairs"), "2");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        requests[1].range.as_deref(),
        Some(format!("bytes={}-", archive.len() / 2).as_str())
    );
    let kept = std::fs::read(downloads_dir(&harness, "chase-db1").join("CHASEDB1.zip")).unwrap();
    assert_eq!(sha256(&kept), sha256(&archive), "the resumed file is whole");
    let manifest =
        std::fs::read_to_string(downloads_dir(&harness, "chase-db1").join("manifest.json"))
            .unwrap();
    assert!(
        manifest.contains(&sha256(&archive)),
        "the SHA-256 is recorded: {manifest}"
    );
    let mask = gray(&dataset_dir(&harness, "chase-db1").join("masks/Image_01L_seg.png"));
    assert_eq!(
        (mask.get_pixel(0, 0)[0], mask.get_pixel(23, 0)[0]),
        (255, 0)
    );
}

#[test]
fn a_checksum_mismatch_is_refused_and_the_file_kept_aside() {
    let served = zip(&[("training/0.png", png(&half_mask(4, 4, 9)))]);
    let server = FileServer::start(vec![
        (
            "/records/3762320/files/training.zip?download=1".to_string(),
            Route::File(served.clone()),
        ),
        (
            "/records/3762320/files/test.zip?download=1".to_string(),
            Route::File(served.clone()),
        ),
    ]);
    let harness = harness_for(&server);
    let failed = harness
        .run(&["data", "fetch", "bagls", "--accept-licence"])
        .expect_code(1);
    let text = &failed.stderr;
    assert!(
        text.contains("training.zip does not match its checksum"),
        "{text}"
    );
    assert!(
        text.contains("7850fd4666131b2d6d5e6bbc544a2609955195b936d9a3d9f34c3e6f67c24b1c"),
        "expected: {text}"
    );
    assert!(text.contains(&sha256(&served)), "actual: {text}");
    let downloads = downloads_dir(&harness, "bagls");
    let kept = downloads.join(format!("training.zip.bad-{}", &sha256(&served)[..12]));
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        served,
        "kept aside for inspection"
    );
    assert!(!downloads.join("training.zip").exists());
    assert!(!dataset_dir(&harness, "bagls").exists());
}

#[test]
fn http_errors_name_the_url_and_the_status() {
    let server = FileServer::start(vec![(
        "/v2/articles/23541312".to_string(),
        Route::Status(404),
    )]);
    let harness = harness_for(&server);
    let missing = harness
        .run(&["data", "fetch", "uterine-myoma"])
        .expect_code(1);
    assert!(
        missing
            .stderr
            .contains(&format!("{}/v2/articles/23541312", server.base_url())),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("404"), "{}", missing.stderr);

    let archive = zip(&[("UMD/1.nii.gz", Vec::new())]);
    server.set(
        "/v2/articles/23541312",
        Route::File(figshare_listing(&[(9, "UMD.zip", &archive)])),
    );
    server.set("/ndownloader/files/9", Route::Status(500));
    let broken = harness
        .run(&["data", "fetch", "uterine-myoma"])
        .expect_code(1);
    assert!(
        broken.stderr.contains("/ndownloader/files/9"),
        "{}",
        broken.stderr
    );
    assert!(broken.stderr.contains("500"), "{}", broken.stderr);
}

#[test]
fn a_server_without_ranges_gets_the_download_restarted() {
    let archive = chase_archive();
    let server = FileServer::start(vec![(
        "/96/1/CHASEDB1.zip".to_string(),
        Route::WholeOnly(archive.clone()),
    )]);
    let harness = harness_for(&server);
    let downloads = downloads_dir(&harness, "chase-db1");
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::write(downloads.join("CHASEDB1.zip.part"), vec![0xAB; 100]).unwrap();
    let done = harness.run(&["data", "fetch", "chase-db1"]).expect_code(0);
    assert_eq!(field(&done.stdout, "pairs"), "2");
    assert_eq!(server.requests()[0].range.as_deref(), Some("bytes=100-"));
    let kept = std::fs::read(downloads.join("CHASEDB1.zip")).unwrap();
    assert_eq!(kept, archive, "the old part was dropped, not prepended");
}

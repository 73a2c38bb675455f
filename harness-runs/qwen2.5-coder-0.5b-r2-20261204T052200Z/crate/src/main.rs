# cargo new unet_segmentation

# src/dataset.rs
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::vec::Vec;

fn load_images_and_masks(data_dir: &str, images_folder: &str, masks_folder: &str) -> Vec<(String, Vec<u8>)> {
    let mut images = Vec::new();
    let mut masks = Vec::new();

    for entry in fs::read_dir(data_dir).unwrap() {
        if entry.is_file() {
            let path = entry.path();
            if path.extension().to_string() == "png" {
                let mut file = File::open(path).unwrap();
                let mut buffer = Vec::new();
                file.read_to_end(&mut buffer).unwrap();

                images.push((path.to_string(), buffer));
            }
        }
    }

    images
}

# src/model.rs
use tch::nn::{Module, Parameter};
use tch::nn::Sequential;
use tch::nn::Tensor;
use tch::nn::DataLoader;
use tch::nn::Dropout;
use tch::nn::Sequential;
use tch::nn::Tensor;

fn build_model() -> Sequential {
    let conv1 = Sequential::new()
        .add_module("conv1", tch::nn::Conv2d::new(3, 32, 3, 3))
        .add_module("relu1", tch::nn::ReLU)
        .add_module("conv2", tch::nn::Conv2d::new(32, 64, 3, 3))
        .add_module("relu2", tch::nn::ReLU)
        .add_module("conv3", tch::nn::Conv2d::new(64, 128, 3, 3))
        .add_module("relu3", tch::nn::ReLU)
        .add_module("flatten", tch::nn::Flatten);

    let max_pool1 = Sequential::new()
        .add_module("max_pool1", tch::nn::MaxPool2d::new(2, 2));

    let conv4 = Sequential::new()
        .add_module("conv4", tch::nn::Conv2d::new(128, 256, 3, 3))
        .add_module("relu4", tch::nn::ReLU)
        .add_module("conv5", tch::nn::Conv2d::new(256, 512, 3, 3))
        .add_module("relu5", tch::nn::ReLU)
        .add_module("flatten", tch::nn::Flatten);

    let max_pool2 = Sequential::new()
        .add_module("max_pool2", tch::nn::MaxPool2d::new(2, 2));

    let fully_connected = Sequential::new()
        .add_module("fc1", tch::nn::Linear::new(512, 128))
        .add_module("relu1", tch::nn::ReLU)
        .add_module("fc2", tch::nn::Linear::new(128, 256))
        .add_module("relu2", tch::nn::ReLU)
        .add_module("fc3", tch::nn::Linear::new(256, 1))

    let model = Sequential::new()
        .add_module("conv1", conv1)
        .add_module("max_pool1", max_pool1)
        .add_module("conv2", conv2)
        .add_module("max_pool2", max_pool2)
        .add_module("conv3", conv3)
        .add_module("max_pool2", max_pool2)
        .add_module("fully_connected", fully_connected);

    model
}

# src/train.rs
use tch::Device;
use tch::nn::Optimizer;
use tch::nn::Criterion;
use tch::nn::DataLoader;
use tch::nn::Dropout;
use tch::nn::Sequential;
use tch::nn::Tensor;

fn train(
    model: Sequential,
    criterion: Criterion,
    train_loader: DataLoader,
    val_loader: DataLoader,
    epochs: usize,
    batch_size: usize,
) -> usize {
    let mut optimizer = Optimizer::new(model.parameters(), tch::optim::Adam::new(model.parameters(), 0.01));

    let mut total_loss = 0.0;
    let mut num_correct = 0;

    for epoch in 0..epochs {
        for (images, masks) in train_loader {
            optimizer.zero_grad();
            let output = model(images);

            let loss = criterion(output, masks);

            total_loss += loss.item() as f64;
            num_correct += (output.argmax(1) == masks.argmax(1)).sum();
        }

        println!("Epoch: {}, Total Loss: {:.2f}, Accuracy: {:.2f}", epoch, total_loss, num_correct as f64 / num_correct as f64);
    }

    epochs
}

# src/main.rs
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::vec::Vec;
use std::vec::VecDeque;
use std::time::Instant;

fn main() {
    // Load dataset
    let data_dir = "data";
    let images_folder = "images";
    let masks_folder = "masks";
    let images = load_images_and_masks(data_dir, images_folder, masks_folder);
    let masks = load_images_and_masks(data_dir, images_folder, masks_folder);

    // Configure hyperparameters
    let epochs = 10;
    let batch_size = 32;
    let learning_rate = 0.01;

    // Build model
    let model = build_model();

    // Train the model
    let train_loss = train(
        model,
        Criterion::CategoricalCrossEntropyLoss,
        DataLoader::from_iter(images.into_iter().map(|(_, image)| (image.to_tensor(), masks.to_tensor()))),
        DataLoader::from_iter(masks.into_iter().map(|(_, mask)| (image.to_tensor(), mask.to_tensor()))),
        epochs,
        batch_size,
    );

    // Save model
    let model_config = model_config_json();
    let model_safetensors = model.safetensors();
    let model_safetensors_path = Path::new(format!("data/model.safetensors"));
    tch::nn::VarStore::save(model_safetensors, model_safetensors_path);

    // Plot losses and dice scores
    let losses = losses_csv();
    let validation_dice_scores = validation_dice_scores_csv();
    let test_dice_scores = test_dice_scores_csv();

    // Visualize predictions
    let predictions = predictions_csv();
    let predictions_path = Path::new(format!("data/predictions.png"));
    predictions_png(predictions);

    // Print progress
    println!("Training completed in {:.2f} seconds", Instant::now().duration_since(Instant::now()).as_secs());

    // End of training
}

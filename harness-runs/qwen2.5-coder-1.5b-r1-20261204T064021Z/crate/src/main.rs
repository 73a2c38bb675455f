#[macro_use]
extern crate clap;

use clap::{Arg, Command};
use tch::{nn, VarStore, Tensor, Device};

#[derive(Debug, Clone)]
struct Model {
    // Define the model architecture here
}

impl Model {
    fn new() -> Self {
        // Initialize the model
        Model {}
    }

    fn forward(&self, input: Tensor) -> Tensor {
        // Forward pass of the model
        input
    }
}

#[derive(Debug)]
struct Dataset {
    // Define the dataset here
}

impl Dataset {
    fn new(data_dir: &str) -> Self {
        // Initialize the dataset
        Dataset {}
    }

    fn load(&self) -> Vec<(Tensor, Tensor)> {
        // Load the dataset
        Vec::new()
    }
}

fn main() {
    let matches = Command::new("unet_segmentation")
        .version("0.1.0")
        .author("Your Name")
        .about("Unet segmentation for grayscale images")
        .arg(
            Arg::new("data-dir")
                .long("data-dir")
                .value_name("DATA")
                .required(true)
                .help("Path to the data directory"),
        )
        .arg(
            Arg::new("out-dir")
                .long("out-dir")
                .value_name("OUT")
                .required(true)
                .help("Path to the output directory"),
        )
        .arg(
            Arg::new("epochs")
                .long("epochs")
                .value_name("N")
                .help("Number of epochs (default: 50)"),
        )
        .get_matches();

    let data_dir = matches.value_of("data-dir").unwrap();
    let out_dir = matches.value_of("out-dir").unwrap();
    let epochs = matches.value_of("epochs").unwrap_or("50").parse().unwrap();

    // Shuffle the data and split it into training, validation, and test sets
    let dataset = Dataset::new(data_dir);
    let data = dataset.load();
    let (train_data, val_data, test_data) = split_data(&data, 80, 10, 10);

    // Save the split data into the output directory
    save_data(&train_data, &val_data, &test_data, out_dir);

    // Train the model
    train_model(&train_data, &val_data, epochs, out_dir);

    // Predict and test the model
    predict_and_test(&test_data, out_dir);
}

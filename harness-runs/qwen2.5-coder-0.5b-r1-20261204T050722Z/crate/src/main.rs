
use indicatif::{prelude::*};
use std::fs::File;
use std::io::Read;
use std::vec::Vec;

use torch::{Device, Tensor};
use torch::nn::Sequential;
use torch::nn::Module;
use torch::nn::Criterion;
use torch::nn::Dropout;
use torch::nn::Linear;
use torch::nn::MSELoss;
use torch::nn::Parameter;
use torch::nn::DataLoader;
use torch::nn::optim::SGD;
use torch::nn::functional::binary_cross_entropy_with_logits;
use torch::nn::functional::sigmoid;
use torch::nn::Function;

#[derive(Debug)]
struct UNetConfig {
    channels: usize,
    num_classes: usize,
    learning_rate: f64,
    batch_size: usize,
}

impl UNetConfig {
    fn from_args() -> UNetConfig {
        let mut args = std::env::args().collect::<Vec<String>>();
        let learning_rate = args.remove(0).parse().expect("learning_rate must be a number");
        let batch_size = args.remove(0).parse().expect("batch_size must be a number");
        UNetConfig {
            channels: 3,
            num_classes: 255,
            learning_rate,
            batch_size,
        }
    }
}

#[derive(Debug)]
struct UNet {
    model: Sequential,
    criterion: Criterion,
}

impl UNet {
    fn new(channels: usize, num_classes: usize, learning_rate: f64, batch_size: usize) -> UNet {
        let model = Sequential::new()
            .add(Linear::new(3, channels))
            .add(Sigmoid::new())
            .add(Linear::new(channels, num_classes))
            .add(Sigmoid::new());
        let criterion = binary_cross_entropy_with_logits();
        UNet { model, criterion }
    }

    fn forward(&self, x: Tensor) -> Tensor {
        self.model(x)
    }

    fn backward(&self, y: Tensor) -> Tensor {
        self.criterion.backward(y)
    }
}

fn train(
    data: DataLoader<Vec<Tensor>, usize>,
    config: UNetConfig,
    epochs: usize,
    batch_size: usize,
    criterion: Criterion,
) {
    let mut optimizer = SGD(config.model.parameters(), config.learning_rate);

    for epoch in 0..epochs {
        for (inputs, target) in data {
            optimizer.zero_grad();
            let output = self.forward(inputs);
            let loss = criterion(output, target);
            loss.backward();
            optimizer.step();
        }
        println!("Epoch {}: Loss: {:?}", epoch + 1, loss.item::<f64>());
    }
}

fn predict(
    data: DataLoader<Vec<Tensor>, usize>,
    config: UNetConfig,
    images: Vec<String>,
    masks: Vec<String>,
    out_dir: String,
) {
    let mut model = UNet::new(config.channels, config.num_classes, config.learning_rate, config.batch_size);

    for (input, mask) in data {
        let input_tensor = Tensor::from_numpy(&input).unsqueeze(0);
        let mask_tensor = Tensor::from_numpy(&mask).unsqueeze(0);

        let output = model.forward(input_tensor);
        let prediction = sigmoid(output);

        let prediction_file = format!("predictions/{input_file}", input_file = input);
        let prediction_image = Image::new(prediction_tensor, (input_tensor.size(1), input_tensor.size(2)));
        prediction_image.save(&prediction_file);

        let prediction_mask = Tensor::from_numpy(&mask_tensor).unsqueeze(0);
        let prediction_mask_image = Image::new(prediction_mask_tensor, (prediction_mask_tensor.size(1), prediction_mask_tensor.size(2)));
        prediction_mask_image.save(&prediction_mask_file);
    }

    println!("Predictions saved in {} and {}.", out_dir, out_dir);
}

fn main() {
    let args = std::env::args().collect::<Vec<String>>();
    let config = UNetConfig::from_args();
    let dataset = DataLoader::from_csv::<Vec<Tensor>, usize>(args[1], args[2]);
    train(dataset, config, args[3], args[4], BinaryCrossEntropyWithLogits::new());

    let images = vec![
        "images/image1.png".to_string(),
        "images/image2.png".to_string(),
        "images/image3.png".to_string(),
        "images/image4.png".to_string(),
        "images/image5.png".to_string(),
    ];
    let masks = vec![
        "masks/image1_seg.png".to_string(),
        "masks/image2_seg.png".to_string(),
        "masks/image3_seg.png".to_string(),
        "masks/image4_seg.png".to_string(),
        "masks/image5_seg.png".to_string(),
    ];
    let out_dir = "splits";
    predict(dataset, config, images, masks, out_dir);
}

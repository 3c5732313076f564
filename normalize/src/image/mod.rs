pub mod layers;
pub mod packages;

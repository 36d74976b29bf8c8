//! A Rust WASI hello world. Build: rustc --target wasm32-wasip1 -O hello_rust.rs
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("hello from Rust, args {:?}", &args[1..]);
}

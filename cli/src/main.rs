//! `sserve`: a drop-in reimplementation of `openssl s_server`.

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(sserve::run(&args));
}

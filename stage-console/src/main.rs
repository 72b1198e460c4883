//! `stage-console`: see the crate's documentation.

fn main() -> std::process::ExitCode {
    if std::env::args().any(|arg| arg == "--help" || arg == "-h") {
        println!("usage: {}", stage_console::USAGE);
        return std::process::ExitCode::SUCCESS;
    }
    let options = match stage_console::Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("stage-console: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    match stage_console::run(&options) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stage-console: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

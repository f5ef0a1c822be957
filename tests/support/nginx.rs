//! nginx as a benchmark baseline: serving a directory from disk (sendfile), or relaying to
//! another HTTP server without buffering (a bare hop: no disk, no checks). Benchmarks that use
//! it skip their nginx rows when it is not installed.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Result, ensure};

/// A running nginx (2 workers, no access log), stopped on drop.
pub(crate) struct Nginx {
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub(crate) url: String,
    dir: tempfile::TempDir,
}

/// The path of an installed tool, looked up where Debian puts it.
pub(crate) fn tool(name: &str) -> Option<String> {
    [format!("/usr/sbin/{name}"), format!("/usr/bin/{name}")]
        .into_iter()
        .find(|path| Path::new(path).exists())
}

impl Nginx {
    /// nginx (the binary at `nginx`) serving the files under `root`, with sendfile.
    pub(crate) fn serve_dir(nginx: &str, root: &Path) -> Result<Nginx> {
        let server = format!("root {};", root.display());
        Nginx::start(nginx, "sendfile on;", &server)
    }

    /// nginx relaying every request to `upstream` (`http://host:port`) as the bytes arrive
    /// (`proxy_buffering off`): what any HTTP hop costs, with nothing stored or checked.
    pub(crate) fn relay(nginx: &str, upstream: &str) -> Result<Nginx> {
        let server = format!(
            "location / {{ proxy_pass {upstream}; proxy_buffering off; \
             proxy_http_version 1.1; }}"
        );
        Nginx::start(nginx, "", &server)
    }

    fn start(nginx: &str, http: &str, server: &str) -> Result<Nginx> {
        let dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let conf = format!(
            "worker_processes 2;\npid {pid};\nerror_log {dir}/error.log;\ndaemon on;\n\
             events {{ worker_connections 1024; }}\nhttp {{\n  access_log off;\n  {http}\n  \
             default_type application/octet-stream;\n  \
             server {{ listen 127.0.0.1:{port}; {server} }}\n}}\n",
            pid = dir.path().join("nginx.pid").display(),
            dir = dir.path().display(),
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let status = Command::new(nginx)
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.path())
            .status()?;
        ensure!(status.success(), "nginx did not start");
        std::thread::sleep(Duration::from_millis(200));
        Ok(Nginx {
            url: format!("http://127.0.0.1:{port}"),
            dir,
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("nginx.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

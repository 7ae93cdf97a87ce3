#![cfg(feature = "browser")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_midway() {
    let server = thidua_e2e::Server::start().await;
    let b = thidua_e2e::Browser::start(&server.base).await;
    b.goto("/dang-nhap").await;
    b.find("#nonexistent").await;
}

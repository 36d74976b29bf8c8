//! Hands a file the app made (a picture of the canvas) to the person: in the browser a download
//! of a Blob URL through a temporary link; natively a file in the current folder.

/// Saves `bytes` as `file_name`; returns where it went ("downloads" or the file's path).
#[cfg(target_arch = "wasm32")]
pub fn deliver_file(file_name: &str, mime: &str, bytes: &[u8]) -> Result<String, String> {
    use std::cell::RefCell;
    use wasm_bindgen::JsCast;

    thread_local! {
        /// The last file's Blob URL: revoked when the next one is made (revoking it right after
        /// the link's click can cancel the download in some browsers).
        static LAST_URL: RefCell<Option<String>> = const { RefCell::new(None) };
    }
    let fail = |what: &str, e: wasm_bindgen::JsValue| format!("cannot {what}: {e:?}");
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes).into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| fail("make the file", e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|e| fail("make a link to the file", e))?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document to download from")?;
    let link = document
        .create_element("a")
        .map_err(|e| fail("make a download link", e))?;
    link.set_attribute("href", &url)
        .and_then(|()| link.set_attribute("download", file_name))
        .map_err(|e| fail("set up the download link", e))?;
    link.dyn_into::<web_sys::HtmlElement>()
        .map_err(|_| "the download link is not an HTML element".to_string())?
        .click();
    if let Some(old) = LAST_URL.with(|last| last.borrow_mut().replace(url)) {
        web_sys::Url::revoke_object_url(&old).ok(); // an already-revoked URL is harmless
    }
    Ok("your downloads".to_string())
}

/// Saves `bytes` as `file_name`; returns where it went ("downloads" or the file's path).
#[cfg(not(target_arch = "wasm32"))]
pub fn deliver_file(file_name: &str, _mime: &str, bytes: &[u8]) -> Result<String, String> {
    let path = std::env::current_dir()
        .map_err(|e| format!("cannot find the current folder: {e}"))?
        .join(file_name);
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

"""Small upright RGB previews of images, for contact sheets and report.html: of files, and of
images inside archives and Parquet files (ARCHIVE::MEMBER uris, read back from the archive)."""
import base64
import io
from typing import Optional

from PIL import Image, ImageOps

from client.archives import image_file
from executors.image_hasher.decode import has_transparency, on_white


def preview(path: str, size: int) -> Optional[Image.Image]:
    """The picture at `path` (a file's, or an ARCHIVE::MEMBER uri) fitted in size x size, or None
    when it cannot be read."""
    try:
        with Image.open(image_file(path)) as image:
            image.draft('RGB', (size, size))  # JPEG: decode at reduced scale, much faster
            image = ImageOps.exif_transpose(image)
            image.thumbnail((size, size))
            return on_white(image) if has_transparency(image) else image.convert('RGB')
    except Exception:  # a missing or broken file gets a placeholder, not a failed report
        return None


def preview_data_uri(path: str, size: int = 96) -> Optional[str]:
    image = preview(path, size)
    if image is None:
        return None
    buffer = io.BytesIO()
    image.save(buffer, 'JPEG', quality=70)
    return 'data:image/jpeg;base64,' + base64.b64encode(buffer.getvalue()).decode()

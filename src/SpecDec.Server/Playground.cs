using Microsoft.AspNetCore.Http;

namespace SpecDec.Server;

/// <summary>
/// GET /: the playground, one self-contained page (its script and style inline, nothing fetched from elsewhere)
/// embedded in this assembly. It streams a chat through /v1/chat/completions and colours each token by the
/// origin the stream's <c>tokens</c> field gives. The content security policy lets the page reach only this server.
/// </summary>
internal static class Playground
{
    private static readonly byte[] Page = Load();

    private static byte[] Load()
    {
        using var stream = typeof(Playground).Assembly.GetManifestResourceStream("SpecDec.Server.Playground.index.html")
            ?? throw new InvalidOperationException("the playground page is not embedded in SpecDec.Server");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public static Task Serve(HttpContext http)
    {
        http.Response.ContentType = "text/html; charset=utf-8";
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:";
        http.Response.Headers.CacheControl = "no-cache";
        return http.Response.Body.WriteAsync(Page).AsTask();
    }
}

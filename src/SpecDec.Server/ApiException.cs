using System.Net;

namespace SpecDec.Server;

/// <summary>
/// A request the server refuses, answered with OpenAI's error object
/// <c>{"error": {"message", "type", "param", "code"}}</c> and <see cref="Status"/>.
/// </summary>
internal sealed class ApiException(HttpStatusCode status, string message, string type = "invalid_request_error",
    string? code = null, string? param = null) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
    public string Type { get; } = type;
    public string? Code { get; } = code;
    public string? Param { get; } = param;

    public static ApiException BadRequest(string message, string? param = null, string? code = null) =>
        new(HttpStatusCode.BadRequest, message, code: code, param: param);

    public object Body => new { error = new { message = Message, type = Type, param = Param, code = Code } };
}
